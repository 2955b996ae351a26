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
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from checker import affected, diff, git, pipeline, sidecache
from checker.cache import Cache, MemoCache
from checker.commands import cache_for, emit, engine_for
from checker.commands.diff_sides import (
    BROKEN,
    WORKTREE,
    Side,
    in_context,
    inventories,
    load_policies,
    raise_folder_problems,
    read_sides,
)
from checker.engines import LazyEngine, RawResult
from checker.errors import GitError, PolicyError
from checker.models import Finding, Inventory, RunResult
from checker.policies import PolicySet
from checker.report.common_groups import waiver_summaries

if TYPE_CHECKING:
    from checker.commands.options import Options

MAX_UNCOMMITTED_SHOWN = 20
# Formats that list unchanged findings: for them diff evaluates what the change cannot affect too.
COMPLETE_FORMATS = ("json", "sarif", "html", "junit")


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
    raise_folder_problems(tip, new)

    judge_side = new if bootstrap else tip
    judge = load_policies(repository, judge_side)
    policies_changed = old.policies.tree != new.policies.tree
    # The head's own policies matter when the change edits them: they must work, and their impact shows.
    head_policies = load_policies(repository, new) if policies_changed and not bootstrap else None
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
        base_inv, head_inv = inventories(repository, cache, options, old, new, judge, head_policies,
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


def _impact(cache: Cache, options: Options, head_policies: PolicySet, head_inv: Inventory,
            judged: Sequence[Finding], new: Side) -> list[Finding]:
    """Findings the head's policies add to or drop from the head inventory."""
    with engine_for(options, head_policies) as engine:
        todo = diff.plan([head_inv], options.as_of, engine.cache_key)
        raw = _evaluate(engine, cache, todo, [head_inv], options.as_of, new)
        people = _people(engine, cache, head_inv, options.as_of, head_policies, new)
        after = diff.side_findings(head_inv, todo.keys[0], raw, head_policies.rules, options.as_of, people)
    return diff.impact(judged, after)


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
        raise in_context(exc, None if side.role == "head" else side.commit,
                          f"the policies at {side.label} do not compile or evaluate{BROKEN[side.role]}") from None


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
            raise in_context(exc, None if side.role == "head" else side.commit,
                              f"the policies at {side.label} do not compile or evaluate{BROKEN[side.role]}"
                              ) from None
        computed = {by_engine_key[name]: pipeline.compact(value) for name, value in fresh.items()}
        cache.put_marshal("result", computed)
        results.update(computed)
    return results
