"""`checker audit`: every group of the organisation, as of a date (and, with --history, its trend)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from checker import history, incremental, inventory, pipeline, runcache, sidecache, snapshot, waivers
from checker.cache import Cache, MemoCache
from checker.commands import cache_for, emit, engine_for
from checker.engines import LazyEngine
from checker.errors import CheckerError, GitError, InputError, Problem
from checker.escapes import escape_controls
from checker.inventory import ParsedFile, SourceFile
from checker.models import Engine as EngineInfo
from checker.models import Finding, Inventory, RuleInfo, RunResult
from checker.observed.drift import drift, drift_rule_infos
from checker.observed.join import observed_inventory
from checker.observed.match import match
from checker.observed.summary import drift_groups, observed_meta
from checker.policies import PolicySet
from checker.report.common_groups import group_summaries, waiver_summaries
from checker.snapshot import Snapshot, SnapshotError

DEFAULT_MAX_SNAPSHOT_AGE = 7  # days before the audit date (SPEC §8)

if TYPE_CHECKING:
    from checker.commands.options import Options


def run(options: Options, history_since: str | None = None, history_step: str = "day",
        observed: Sequence[Path] = (), max_snapshot_age: int = DEFAULT_MAX_SNAPSHOT_AGE) -> int:
    policy_set = pipeline.load_policies(options.policies)
    meta: dict[str, Any] = {}
    rules = policy_set.rules
    snapshots = [_read_snapshot(path, options.as_of, max_snapshot_age) for path in observed]
    platforms = [snap.platform for snap, _ in snapshots]
    for (_, file), platform in zip(snapshots, platforms, strict=True):
        if platforms.count(platform) > 1:  # which of two would be the truth?
            raise SnapshotError([Problem(file, None, f"another --observed snapshot is of {platform} too: give one "
                                                     "snapshot per platform")])
    with cache_for(options) as cache, engine_for(options, policy_set) as engine:
        # The whole run's findings when nothing changed (runcache); not for what reads the
        # inventory itself afterwards: snapshots, --history, the HTML report's charts.
        whole = cache.enabled and not snapshots and history_since is None and options.format != "html"
        listing: list[tuple[str, str]] = []  # (path, blob id): what `checker diff` knows the folder by
        run_key, read = runcache.key(options.inventories, pipeline.shown(options.inventories), options.as_of,
                                     engine.cache_key, listing) if whole else (None, None)
        side_key = sidecache.key(listing, engine.cache_key, options.as_of) if run_key is not None else None
        stored = runcache.get(cache, run_key) if run_key is not None else None
        if stored is not None:
            findings, groups, people = stored
            if side_key is not None:
                sidecache.put(cache, side_key, findings, groups, people)
            return emit(options, _result(options, engine.info, groups, people, findings, rules, meta))
        inv = pipeline.load_inventory(options.inventories, policy_set, cache=cache, jobs=options.jobs, read=read)
        del read
        if snapshots:
            declared = inv
            matchings = [match(declared, snap, file) for snap, file in snapshots]
            inv = observed_inventory(declared, matchings)
            policy_findings = pipeline.policy_findings(engine, inv, options.as_of, rules, cache, engine.cache_key)
            rules = {**rules, **drift_rule_infos()}
            # Separation of duties is judged against the declared owners: the reviewed ones.
            findings = waivers.apply([*policy_findings, *drift(declared, matchings)], inv.waivers, options.as_of,
                                     waivers.owners_of(declared))
            meta["observed"] = observed_meta(matchings)
            meta["drift_groups"] = drift_groups(declared, inv, matchings)
        else:
            findings = pipeline.findings(engine, inv, options.as_of, rules, cache, engine.cache_key)
            if run_key is not None and side_key is not None:  # so that a diff can count what it leaves out
                runcache.put(cache, run_key, findings, len(inv.groups), len(inv.people))
                sidecache.put(cache, side_key, findings, len(inv.groups), len(inv.people))
                # And so that the first diff whose merge base is this tree reads its inventory back
                # instead of building it (checker.incremental); the workers' memory is given back first.
                engine.close()
                incremental.put(cache, incremental.key(listing, pipeline.known_for(policy_set)), inv)
        if history_since is not None:
            memo = MemoCache(cache)  # every sample asks for nearly the same entries
            judge = _judge(engine, memo, policy_set, options.as_of)
            meta.update(trend(options, policy_set, judge, history_since, history_step, memo))
        info = engine.info
    if options.format == "html":  # what only the HTML report draws (charts of groups, waiver expiry)
        meta["groups"] = group_summaries(inv, policy_set.data)
        meta["waivers"] = waiver_summaries(inv)
    groups, people = len(inv.groups), len(inv.people)
    del inv  # the report needs the findings only: what the inventory held is the report's to reuse
    return emit(options, _result(options, info, groups, people, findings, rules, meta))


def _result(options: Options, info: EngineInfo, groups: int, people: int, findings: Sequence[Finding],
            rules: Mapping[str, RuleInfo], meta: dict[str, Any]) -> RunResult:
    commit = _inventory_commit(options)
    if commit:
        meta["inventory_commit"] = commit
    return RunResult("audit", options.as_of, info, groups, people, tuple(findings), rules,
                     fail_on=options.fail_on, meta=meta)


def _read_snapshot(path: Path, as_of: str, max_age_days: int) -> tuple[Snapshot, str]:
    """A snapshot and its path as findings show it; too old a snapshot is an error (SPEC §8)."""
    file = pipeline.shown(path)
    snap = snapshot.read(path, file)
    age = (dt.date.fromisoformat(as_of) - snap.taken.date()).days
    if age > max_age_days:
        raise SnapshotError([Problem(file, None, f"snapshot taken {snap.taken_at} is {age} days older than the "
                                                 f"audit date {as_of} (at most {max_age_days}; "
                                                 "--max-snapshot-age DAYS allows older)")])
    return snap, file


def _judge(engine: LazyEngine, cache: Cache, policy_set: PolicySet, as_of: str
           ) -> Callable[[Inventory], list[Finding]]:
    def judge(inv: Inventory) -> list[Finding]:
        return pipeline.findings(engine, inv, as_of, policy_set.rules, cache, engine.cache_key)

    return judge


def _inventory_commit(options: Options) -> str | None:
    """HEAD of the repository holding the inventory, when there is one (for the report's headline)."""
    from checker import git

    try:
        with git.Repository(options.inventories) as repository:
            return repository.commit("HEAD", "HEAD")
    except CheckerError:
        return None


def trend(options: Options, policy_set: PolicySet, judge: Callable[[Inventory], list[Finding]], since_text: str,
          step: str, cache: Cache) -> dict[str, Any]:
    """The series and changes of --history, from the inventory at the last commit of each day or week."""
    from checker import git

    try:
        repository = git.Repository(options.inventories)
    except GitError:
        raise GitError(f"--history reads the git history of the inventory folder, and {options.inventories} is "
                       "not inside a git repository: point --inventories at the inventory folder of a git "
                       "checkout (the repository is the one that holds it)") from None
    with repository:
        inv_dir = repository.relative_folder(options.inventories.resolve(), "--inventories")
        since = history.parse_since(since_text, dt.datetime.now(dt.UTC))
        if since.ref is not None:
            start = repository.commit(since.ref, "--history")
            commits = repository.first_parent_log("HEAD", since=None, after=start)
            start_time = repository.first_parent_log(start, since=None)[-1][1]
            commits = [(start, start_time), *commits]
        else:
            commits = repository.first_parent_log("HEAD", since=since.moment)
        known = pipeline.known_for(policy_set)
        parsed_blobs: dict[tuple[str, str], ParsedFile] = {}  # a blob is parsed once per run
        people: dict[int, Any] = {}  # and each of its people built once
        series: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        previous: list[Finding] | None = None
        for day, sha in history.samples(commits, step):
            folder = repository.folder(sha, inv_dir, inventory.YAML_SUFFIXES, inventory.max_file_bytes())
            point = history.series_point(day, sha, [])
            try:
                if not folder.exists:
                    raise GitError(f"no {inv_dir or '.'} folder at this commit")
                if folder.problems:  # read at that commit as `diff` would: nothing skipped in silence
                    raise InputError(list(folder.problems))
                new = [b for b in folder.blobs if (b.path, b.sha) not in parsed_blobs]
                data = repository.read(b.sha for b in new)
                fresh = pipeline.parse_sources([SourceFile(b.path, data[b.sha]) for b in new], cache, options.jobs)
                parsed_blobs.update(zip([(b.path, b.sha) for b in new], fresh, strict=True))
                inv = inventory.build([parsed_blobs[(b.path, b.sha)] for b in folder.blobs], known, people)
            except CheckerError as exc:  # a past commit that does not validate is shown, not fatal
                point["error"] = "; ".join(str(p) for p in exc.problems[:3])
                click.echo(f"checker: note: --history: {git.short(sha)} ({day}): "
                           f"{escape_controls(point['error'])}", err=True)
                series.append(point)
                continue
            found = judge(inv)
            point = history.series_point(day, sha, found)
            if previous is not None:
                changes += history.changes(previous, found, day.isoformat())
            previous = found
            series.append(point)
    return {"history": series, "history_changes": changes, "history_since": since_text, "history_step": step}
