"""`checker diff`: the pre-merge check of a change, read from git objects.

The head is compared with the merge base of base and head (not the tip of base: what the
base branch did after the branch point is not the change's doing). The policies at the tip of
the base judge both sides (SPEC §6), so a change can neither weaken nor predate the check that
gates it (a branch cut from an old commit is judged by today's rules); when the change edits the
policies, their impact on the head inventory is reported besides.

Decisions where the issue left a choice:
- The merge base without the inventory folder is a new repository: its side is empty and
  every head finding is introduced. The head without it is an error (the merge would leave
  nothing that `checker audit` can read), and so is a folder missing on both sides.
- The base tip without the policy folder is an error (nothing to judge with) unless
  `--bootstrap` is given: then the head's policies judge (said on stderr, and in the result's
  meta `bootstrap` and `policies_commit`, which every report shows first). `--bootstrap` when
  the base has policies changes nothing: the base's policies judge, as always.
- The head's policies that do not load or compile are an error (exit 2) naming the file: a
  change with broken policies cannot be merged, so the run must not pass.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from checker import affected, diff, git, incremental, inventory, pipeline, policies, sidecache, walk
from checker.cache import Cache, MemoCache
from checker.commands import cache_for, emit, engine_for
from checker.engines import LazyEngine, RawResult, purity
from checker.errors import CheckerError, GitError, InputError, PolicyError, Problem
from checker.escapes import escape_controls
from checker.models import Finding, Inventory, RunResult
from checker.policies import PolicySet
from checker.report.common_groups import waiver_summaries

if TYPE_CHECKING:
    from checker.commands.options import Options

POLICY_SUFFIXES = (".rego", ".yaml", ".yml", ".json")
MAX_BASE_PROBLEMS_SHOWN = 20
MAX_UNCOMMITTED_SHOWN = 20
# Formats that list unchanged findings: for them diff evaluates what the change cannot affect too.
COMPLETE_FORMATS = ("json", "sarif", "html", "junit")
WORKTREE = "WORKTREE"  # --head WORKTREE: the work tree as it is, uncommitted changes included
_BROKEN = {"head": "; a change with broken policies cannot be merged",
           "merge base": "; they must be fixed on the base branch first",
           "base": "; they must be fixed on the base branch first"}


@dataclasses.dataclass(frozen=True)
class Side:
    role: str  # "base" (its tip), "merge base" or "head", for messages
    ref: str
    commit: str
    inventory: git.Folder
    policies: git.Folder

    @property
    def label(self) -> str:
        """`the head (HEAD, 1a2b3c4d5e6f)`, `the merge base of main and HEAD (9f8e7d6c5b4a)`."""
        if self.role == "head" and self.ref == WORKTREE:
            return f"the work tree (on {git.short(self.commit)})"
        if self.role == "head":
            return f"the head ({self.ref}, {git.short(self.commit)})"
        if self.role == "base":
            return f"the tip of {self.ref} ({git.short(self.commit)})"
        return f"the {self.ref} ({git.short(self.commit)})"


def run(options: Options, base: str, head: str, repo: Path, bootstrap: bool = False,
        accept_new_waivers: bool = False) -> int:
    with git.Repository(repo) as repository, cache_for(options) as cache:
        tip, old, new = read_sides(repository, options, base, head)
        if head != WORKTREE:
            _note_uncommitted(repository, [new.inventory.path, new.policies.path], new)
        result = compare(repository, cache, options, tip, old, new, bootstrap, accept_new_waivers)
        result = dataclasses.replace(result, meta={"base": base, "head": head, "base_commit": tip.commit,
                                                   "head_commit": new.commit, "merge_base": old.commit,
                                                   **result.meta})
    return emit(options, result)


def read_sides(repository: git.Repository, options: Options, base: str, head: str) -> tuple[Side, Side, Side]:
    """The base tip (whose policies judge), and the two sides compared: the merge base and the head
    (with `--head WORKTREE`, the work tree as it is on disk, read as `audit` reads it)."""
    head_commit = repository.commit("HEAD" if head == WORKTREE else head, "--head")
    base_commit = repository.commit(base, "--base")
    merge_base = repository.merge_base(base_commit, head_commit, base, head)
    inv_dir = repository.relative_folder(options.inventories, "--inventories")
    pol_dir = repository.relative_folder(options.policies, "--policies")
    limit = inventory.max_file_bytes()

    def side(role: str, ref: str, commit: str) -> Side:
        return Side(role, ref, commit, repository.folder(commit, inv_dir, inventory.YAML_SUFFIXES, limit),
                    repository.folder(commit, pol_dir, POLICY_SUFFIXES, limit))

    head_side = (_worktree_side(repository, head_commit, inv_dir, pol_dir, limit) if head == WORKTREE
                 else side("head", head, head_commit))
    return (side("base", base, base_commit), side("merge base", f"merge base of {base} and {head}", merge_base),
            head_side)


def _worktree_side(repository: git.Repository, head_commit: str, inv_dir: str, pol_dir: str, limit: int) -> Side:
    """The work tree's folders, walked by the same rules as `audit` on disk (checker.walk); their blob
    ids are computed as git would, so unchanged files are recognised and parsed once."""
    if repository.root is None:
        raise GitError(f"--head {WORKTREE}: a bare repository has no work tree")

    def folder(rel: str, wanted: Callable[[str], bool], what: str, kind: str) -> git.Folder:
        root = repository.root / rel if repository.root is not None else Path(rel)
        if not root.is_dir():
            return git.Folder(rel, None)
        found, problems = walk.walk(root, rel, wanted, what, kind)
        sources = []
        for file in found:
            source, problem = inventory.read_file(file.path, file.shown, file.size, limit)
            if problem:
                problems.append(problem)
            elif source:
                sources.append(source)
        shas = repository.remember(s.data for s in sources)
        blobs = tuple(git.BlobEntry(s.path, sha) for s, sha in zip(sources, shas, strict=True))
        listing = "".join(f"{b.path}\0{b.sha}\0" for b in blobs)
        tree = "worktree:" + hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest()
        return git.Folder(rel, tree, tuple(sorted(blobs, key=lambda b: b.path)), tuple(problems))

    return Side("head", WORKTREE, head_commit,
                folder(inv_dir, inventory.is_inventory_file, "inventory", "YAML file"),
                folder(pol_dir, policies.is_policy_file, "policy", "policy file"))


def _note_uncommitted(repository: git.Repository, paths: Sequence[str], head: Side) -> None:
    """SPEC §6: say which files under the folders the comparison does not see (it reads commits)."""
    found = repository.uncommitted(paths)
    if not found:
        return
    shown = ", ".join(f"{path} ({what})" for what, path in found[:MAX_UNCOMMITTED_SHOWN])
    more = f" and {len(found) - MAX_UNCOMMITTED_SHOWN} more" if len(found) > MAX_UNCOMMITTED_SHOWN else ""
    click.echo(f"checker: note: {len(found)} uncommitted file(s) under {', '.join(p or '.' for p in paths)} "
               f"are not part of the comparison, which reads {head.label}: {shown}{more}; commit them, or "
               f"pass --head {WORKTREE} to compare the work tree as it is", err=True)


def compare(repository: git.Repository, cache: Cache, options: Options, tip: Side, old: Side, new: Side,
            bootstrap: bool = False, accept_new_waivers: bool = False) -> RunResult:
    """Judge both sides with the base tip's policies, classify, attribute, and add the policy impact."""
    inv_shown = new.inventory.path or "."
    pol_shown = new.policies.path or "."
    if not new.inventory.exists:
        raise GitError(f"{inv_shown}: no inventory folder at {new.label}; check --inventories (a path "
                       "relative to the repository root)")
    if tip.policies.exists and bootstrap:
        click.echo(f"checker: note: --bootstrap: {tip.label} has {pol_shown}, so its policies judge the "
                   "change as always", err=True)
        bootstrap = False
    if not tip.policies.exists and not bootstrap:
        raise GitError(f"{pol_shown}: no policy folder at {tip.label}, so there is nothing to judge the change "
                       "with; check --policies, or pass --bootstrap for the change that adds the policies "
                       "(its own policies then judge it)")
    _raise_folder_problems(tip, new)

    judge_side = new if bootstrap else tip
    judge = _load_policies(repository, judge_side)
    policies_changed = old.policies.tree != new.policies.tree
    # The head's own policies matter when the change edits them: they must work, and their impact shows.
    head_policies = _load_policies(repository, new) if policies_changed and not bootstrap else None
    if bootstrap:
        click.echo(f"checker: note: --bootstrap: {tip.label} has no {pol_shown}; the change is judged by its "
                   "own policies", err=True)

    as_of = options.as_of
    # Policies whose evaluated content did not change (only tests or cases did) have no impact.
    with_impact = head_policies is not None and head_policies.digest != judge.digest
    # The gate needs only what the change can affect; these need every finding at the head (issue 12.1).
    complete = (options.format in COMPLETE_FORMATS or options.fail_on == "any" or with_impact
                or (options.format == "table" and options.show_unchanged))  # it lists them too
    listing = [[(b.path, b.sha) for b in side.inventory.blobs] if side.inventory.exists else [] for side in (old, new)]
    changed = None if complete else affected.changed_files(*listing)
    with engine_for(options, judge) as engine:
        base_inv, head_inv = _inventories(repository, cache, options, old, new, judge, head_policies,
                                          engine.prestart)
        base_findings, head_findings, skipped = _judge_sides(engine, cache, options, judge, judge_side,
                                                             base_inv, head_inv, changed)
        info, policy_key = engine.info, engine.cache_key
    # The unchanged count of what the gate left out, from a side's complete counts (checker.sidecache).
    sides = [sidecache.Side(listing[0], base_inv, base_findings) if base_inv is not diff.EMPTY else None,
             sidecache.Side(listing[1], head_inv, head_findings)]
    settled = sidecache.unchanged_counts(cache, policy_key, as_of, sides, changed is None, skipped)
    findings = diff.classify(base_findings, head_findings, base_inv, head_inv, as_of, accept_new_waivers)

    impact: list[Finding] = []
    rules = dict(judge.rules)
    if head_policies is not None and with_impact:
        impact = _impact(cache, options, head_policies, head_inv, head_findings, new)
        rules = {**head_policies.rules, **judge.rules}  # rules only the head has, for the impact's findings

    meta: dict[str, Any] = {"policies_commit": judge_side.commit, "bootstrap": bootstrap,
                            "accept_new_waivers": accept_new_waivers,
                            "waivers": waiver_summaries(head_inv),  # the HTML report's waiver table
                            **settled}
    return RunResult("diff", as_of, info, len(head_inv.groups), len(head_inv.people), tuple(findings),
                     rules, tuple(impact), policies_changed, meta)


def _inventories(repository: git.Repository, cache: Cache, options: Options, old: Side, new: Side,
                 judge: PolicySet, head_policies: PolicySet | None, parsed_first: Callable[[], None]
                 ) -> tuple[Inventory, Inventory]:
    """Both sides' inventories, each distinct file parsed once (checker.incremental, ParsedBlobs);
    `parsed_first` is called once the first files are parsed (the engine's workers start while the
    inventories are built: the parsing workers have the cores until then)."""
    parsed = pipeline.ParsedBlobs(repository.read, cache, options.jobs, then=parsed_first)
    reuse: dict[int, Any] = {}  # the two sides share most records: build each Person and Group once
    stores: list[Callable[[], None]] = []  # cache entries to write once the parsed documents are dropped
    hint = head_policies is not None
    if old.inventory.tree == new.inventory.tree:  # a policy-only change: the same inventory, built once
        head_inv = base_inv = _cached_build(parsed, cache, new, judge, reuse, stores, hint)
    else:
        base_inv, warnings = _base_inventory(parsed, cache, old, judge, reuse, stores)
        # The head from the base's records, rebuilding only the files the change touched (issue 12.3);
        # None when the head has any problem: the full build then reports them as always.
        built = None if base_inv is diff.EMPTY else incremental.head_from(
            base_inv, _files(old), _files(new), parsed, pipeline.known_for(judge))
        head_inv = built if built is not None else _build(parsed, new, judge, reuse, hint=hint)
        for warning in warnings:
            click.echo(warning, err=True)
    if head_policies is not None:  # the inventory must also stand under the policies it will live with
        _build(parsed, new, head_policies, reuse, under="under its own policies")
    parsed.drop()  # every inventory is built: neither the documents nor what reuse holds of them are needed
    reuse.clear()
    for store in stores:
        store()
    return base_inv, head_inv


def _impact(cache: Cache, options: Options, head_policies: PolicySet, head_inv: Inventory,
            judged: Sequence[Finding], new: Side) -> list[Finding]:
    """Findings the head's policies add to or drop from the head inventory."""
    with engine_for(options, head_policies) as engine:
        todo = diff.plan([head_inv], options.as_of, engine.cache_key)
        raw = _evaluate(engine, cache, todo, [head_inv], options.as_of, new)
        people = _people(engine, cache, head_inv, options.as_of, head_policies, new)
        after = diff.side_findings(head_inv, todo.keys[0], raw, head_policies.rules, options.as_of, people)
    return diff.impact(judged, after)


# ---------------------------------------------------------------- loading


def _raise_folder_problems(tip: Side, new: Side) -> None:
    """Unsafe or unreadable entries (symlinks out, submodules, huge blobs) of what must load: the
    head's folders and the base tip's policies (the merge base's inventory: see _base_inventory; its
    policies judge nothing)."""
    for folder, error, side in ((new.inventory, InputError, new), (new.policies, PolicyError, new),
                                (tip.policies, PolicyError, tip)):
        if folder.problems:
            raise _in_context(error(list(folder.problems)), None if side is new else side.commit,
                              f"{side.label}: cannot read {folder.path or '.'} safely")


def _base_inventory(parsed: pipeline.ParsedBlobs, cache: Cache, old: Side, judge: PolicySet, reuse: dict[int, Any],
                    stores: list[Callable[[], None]]) -> tuple[Inventory, list[str]]:
    """The merge base's inventory, and the warnings to show once the head has built. One that does not
    load is compared as empty, with a warning, so that a change repairing the base branch can still be
    checked: every head finding is then introduced, the strictest reading, never a pass by default."""
    if not old.inventory.exists:
        return diff.EMPTY, []
    try:
        if old.inventory.problems:
            raise _in_context(InputError(list(old.inventory.problems)), old.commit, "")
        return _cached_build(parsed, cache, old, judge, reuse, stores), []
    except InputError as exc:
        problems = exc.problems[1:]  # after the context line both raisers put first
        warnings = [f"checker: warning: {escape_controls(str(problem))}"
                    for problem in problems[:MAX_BASE_PROBLEMS_SHOWN]]
        warnings.append(f"checker: warning: the inventory at {old.label} is not valid ({len(problems)} "
                        "problems); it is compared as empty, so every finding at the head is reported as "
                        "introduced")
        return diff.EMPTY, warnings


def _files(side: Side) -> dict[str, str]:
    return {b.path: b.sha for b in side.inventory.blobs}


def _load_policies(repository: git.Repository, side: Side) -> PolicySet:
    commit = None if side.role == "head" else side.commit
    if not side.policies.exists:
        raise PolicyError([Problem(side.policies.path or ".", None, f"no policy folder at {side.label}; a "
                                                                     "change that removes the policies cannot "
                                                                     "be merged")])
    try:
        policy_set = policies.from_files(repository.read_folder(side.policies))
    except PolicyError as exc:
        raise _in_context(exc, commit, f"the policies at {side.label} do not load{_BROKEN[side.role]}") from None
    if side.role == "head":  # the change's own policies are untrusted: pure builtins only (SPEC §6)
        purity.require_pure(policy_set, f"the policies at {side.label}")
    return policy_set


def _cached_build(parsed: pipeline.ParsedBlobs, cache: Cache, side: Side, policy_set: PolicySet, reuse: dict[int, Any],
                  stores: list[Callable[[], None]], hint: bool = False) -> Inventory:
    """_build, or the inventory an earlier run built from the very same files and policies' data;
    a fresh one is stored by the callable this appends to `stores`."""
    known = pipeline.known_for(policy_set)
    key = incremental.key(((b.path, b.sha) for b in side.inventory.blobs), known)
    found = incremental.get(cache, key)
    if found is not None:
        return found
    built = _build(parsed, side, policy_set, reuse, hint)
    stores.append(functools.partial(incremental.put, cache, key, built))
    return built


def _build(parsed: pipeline.ParsedBlobs, side: Side, policy_set: PolicySet, reuse: dict[int, Any],
           hint: bool = False, under: str = "") -> Inventory:
    files = parsed([(b.path, b.sha) for b in side.inventory.blobs])
    try:
        return inventory.build(files, pipeline.known_for(policy_set), reuse)
    except InputError as exc:
        context = f"the inventory at {side.label} is not valid" + (f" {under}" if under else "")
        problems = _in_context(exc, None if side.role == "head" else side.commit, context).problems
        if hint:
            problems.append(Problem("", None, "note: the change is judged by the policies at the tip of the base; "
                                              "data classes, jurisdictions and rules that it adds to the "
                                              "policies can be used once the policy change has been merged"))
        raise InputError(problems) from None


def _in_context(exc: CheckerError, commit: str | None, context: str) -> CheckerError:
    """The same error with a first line that says where, and base-side files as `commit:path`."""
    problems = [dataclasses.replace(p, file=f"{git.short(commit)}:{p.file}") if commit and p.file else p
                for p in exc.problems]
    return type(exc)([Problem("", None, context), *problems])


# ---------------------------------------------------------------- evaluation


def _judge_sides(engine: LazyEngine, cache: Cache, options: Options, judge: PolicySet, judge_side: Side,
                 base_inv: Inventory, head_inv: Inventory, changed: Collection[str] | None
                 ) -> tuple[list[Finding], list[Finding], dict[str, int]]:
    """Both sides' findings, and how many settled groups and people were left out. `changed` (the
    files the change touched) None: everything is judged; else only what the change can affect
    (checker.affected), each side's group and person keys computed once and only for that."""
    as_of, sides = options.as_of, [base_inv, head_inv]
    has_person_rules = any(rule.scope == "person" for rule in judge.rules.values())
    scope = None if changed is None else affected.affected(
        base_inv, head_inv, changed, {r for r, info in judge.rules.items() if info.scope == "person"},
        diff.changed_waivers(base_inv, head_inv))
    only = None if scope is None else [sorted(scope.groups.intersection(inv.groups)) for inv in sides]
    todo = diff.plan(sides, as_of, engine.cache_key, only)
    raw = _evaluate(engine, cache, todo, sides, as_of, judge_side)
    memo = MemoCache(cache)  # a person the same on both sides is evaluated once, even without a cache
    people: list[dict[str, RawResult]] = []
    for inv in sides:
        wanted = None if scope is None or scope.people is None else scope.people.intersection(inv.people)
        people.append(_people(engine, memo, inv, as_of, judge, judge_side, set(inv.people) if wanted is None
                              else wanted))
    complete = scope is None
    findings = [diff.side_findings(inv, keys, raw, judge.rules, as_of, found, complete)
                for inv, keys, found in zip(sides, todo.keys, people, strict=True)]
    skipped = {"groups": len(head_inv.groups) - len(todo.keys[1]),
               "people": len(head_inv.people) - len(people[1]) if has_person_rules and not complete else 0}
    return findings[0], findings[1], skipped


def _people(engine: LazyEngine, cache: Cache, inv: Inventory, as_of: str, policy_set: PolicySet,
            policy_side: Side, person_ids: Collection[str] | None = None) -> dict[str, RawResult]:
    """Person-scope raw results of one side (nothing when the policies have no person-scope family)."""
    if person_ids is not None and not person_ids:
        return {}
    try:
        return pipeline.evaluate_people(engine, inv, as_of, engine.cache_key, cache, policy_set.rules,
                                        person_ids)
    except PolicyError as exc:
        side = policy_side
        raise _in_context(exc, None if side.role == "head" else side.commit,
                          f"the policies at {side.label} do not compile or evaluate{_BROKEN[side.role]}") from None


def _evaluate(engine: LazyEngine, cache: Cache, todo: diff.Plan, sides: Sequence[Inventory], as_of: str,
              policy_side: Side) -> dict[str, RawResult]:
    """Raw results by input key: from the result cache, else each distinct input evaluated once.
    `policy_side` is where the engine's policies come from, for error messages."""
    results: dict[str, RawResult] = cache.get_marshal("result", todo.first)
    missing = [key for key in todo.first if key not in results]
    if missing:
        # Engine keys name the group, so an engine error says which one failed.
        by_engine_key = {f"{todo.first[key][1]} ({key[:12]})": key for key in missing}
        inputs = diff.inputs_to_evaluate(todo, sides, as_of, missing)
        keyed = {key: document for key, document in inputs}
        try:
            fresh = engine().evaluate([(name, keyed[key]) for name, key in by_engine_key.items()])
        except PolicyError as exc:
            side = policy_side
            raise _in_context(exc, None if side.role == "head" else side.commit,
                              f"the policies at {side.label} do not compile or evaluate{_BROKEN[side.role]}"
                              ) from None
        computed = {by_engine_key[name]: pipeline.compact(value) for name, value in fresh.items()}
        cache.put_marshal("result", computed)
        results.update(computed)
    return results

