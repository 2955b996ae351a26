"""The two sides of `checker diff`, read from git objects (or the work tree): which commits, their
folders, the policies that judge, and both inventories built with each distinct file parsed once.

Errors name where they come from: a problem on the base side is shown as `commit:path`, under a
first line that says which side and why the run cannot go on (in_context).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from checker import diff, git, incremental, inventory, pipeline, policies, walk
from checker.cache import Cache
from checker.engines import purity
from checker.errors import CheckerError, GitError, InputError, PolicyError, Problem
from checker.escapes import escape_controls
from checker.git_objects import listing_digest
from checker.models import Inventory
from checker.policies import PolicySet

if TYPE_CHECKING:
    from checker.commands.options import Options

MAX_BASE_PROBLEMS_SHOWN = 20
WORKTREE = "WORKTREE"  # --head WORKTREE: the work tree as it is, uncommitted changes included
BROKEN = {"head": "; a change with broken policies cannot be merged",
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
                    repository.folder(commit, pol_dir, policies.POLICY_SUFFIXES, limit))

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
        tree = "worktree:" + listing_digest((b.path, b.sha) for b in blobs)
        return git.Folder(rel, tree, tuple(sorted(blobs, key=lambda b: b.path)), tuple(problems))

    return Side("head", WORKTREE, head_commit,
                folder(inv_dir, inventory.is_inventory_file, "inventory", "YAML file"),
                folder(pol_dir, policies.is_policy_file, "policy", "policy file"))


def inventories(repository: git.Repository, cache: Cache, options: Options, old: Side, new: Side,
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


def raise_folder_problems(tip: Side, new: Side) -> None:
    """Unsafe or unreadable entries (symlinks out, submodules, huge blobs) of what must load: the
    head's folders and the base tip's policies (the merge base's inventory: see _base_inventory; its
    policies judge nothing)."""
    for folder, error, side in ((new.inventory, InputError, new), (new.policies, PolicyError, new),
                                (tip.policies, PolicyError, tip)):
        if folder.problems:
            raise in_context(error(list(folder.problems)), None if side is new else side.commit,
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
            raise in_context(InputError(list(old.inventory.problems)), old.commit, "")
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


def load_policies(repository: git.Repository, side: Side) -> PolicySet:
    commit = None if side.role == "head" else side.commit
    if not side.policies.exists:
        raise PolicyError([Problem(side.policies.path or ".", None, f"no policy folder at {side.label}; a "
                                                                     "change that removes the policies cannot "
                                                                     "be merged")])
    try:
        policy_set = policies.from_files(repository.read_folder(side.policies))
    except PolicyError as exc:
        raise in_context(exc, commit, f"the policies at {side.label} do not load{BROKEN[side.role]}") from None
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
        problems = in_context(exc, None if side.role == "head" else side.commit, context).problems
        if hint:
            problems.append(Problem("", None, "note: the change is judged by the policies at the tip of the base; "
                                              "data classes, jurisdictions and rules that it adds to the "
                                              "policies can be used once the policy change has been merged"))
        raise InputError(problems) from None


def in_context(exc: CheckerError, commit: str | None, context: str) -> CheckerError:
    """The same error with a first line that says where, and base-side files as `commit:path`."""
    problems = [dataclasses.replace(p, file=f"{git.short(commit)}:{p.file}") if commit and p.file else p
                for p in exc.problems]
    return type(exc)([Problem("", None, context), *problems])
