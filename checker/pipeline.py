"""The steps every command shares: load -> validate -> join -> evaluate -> waive.

Disk and cache I/O happen here and in the modules it calls at the edges (inventory.read_tree,
cache); parse_source, build, to_findings and waivers.apply are pure.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from checker import evaluate, inventory, policies, timings, waivers
from checker.cache import Cache, NoCache, digest
from checker.engines import PolicyEngine, RawResult
from checker.engines.workers import die_with_parent
from checker.errors import InputError, Problem
from checker.git_objects import blob_id
from checker.inventory import ParsedFile, SourceFile
from checker.join import group_input, memberships, memberships_of, person_input, person_keys
from checker.models import Finding, Inventory, RuleInfo
from checker.observed.drift import DRIFT_RULES
from checker.policies import PolicySet
from checker.yamlload import Document

# Below this many files and bytes a new worker pool costs more than it saves (one already made is
# used for any batch of several files: the 30 people files of a 10,000-group org are a fifth of its bytes).
PARALLEL_PARSE_MIN_FILES = 200
PARALLEL_PARSE_MIN_BYTES = 1024 * 1024
# Files read, parsed and built at a time: besides the inventory, memory holds one chunk's bytes and
# parsed documents (a parsed file takes several times its size), never the whole tree's.
LOAD_CHUNK_FILES = 1000
# Groups (or people) joined and evaluated at a time: the joined inputs of one chunk are held, never
# the whole organisation's (at 100,000 groups, ~1.3 M member records).
EVALUATE_CHUNK = 2000


def load_policies(path: Path, display: str | None = None) -> PolicySet:
    return policies.load_dir(path, display if display is not None else shown(path))


def known_for(policy_set: PolicySet) -> inventory.Known:
    # the drift rules of SPEC §8 are known rule ids too, so waivers may name them
    return inventory.Known.from_policy_data(policy_set.data, [*policy_set.rules, *DRIFT_RULES])


def load_inventory(path: Path, policy_set: PolicySet, display: str | None = None, cache: Cache | None = None,
                   jobs: int = 1, read: Sequence[SourceFile] | None = None) -> Inventory:
    """Disk -> Inventory, LOAD_CHUNK_FILES files at a time in path order: each chunk is read, parsed
    (or found in the cache) and added to the inventory, then its bytes and documents are dropped.
    `read`: every file of the folder, already read without a problem (runcache.key keeps them)."""
    problems: list[Problem] = []
    if read is None:
        with timings.phase("list files"):
            found, problems = inventory.list_tree(path, display if display is not None else shown(path))
    count = len(found) if read is None else len(read)
    builder = inventory.Builder(known_for(policy_set))
    file_problems: list[Problem] = []
    tally = timings.Tally()
    with Parser(cache or NoCache(), jobs) as parser:
        for start in range(0, count, LOAD_CHUNK_FILES):
            with tally("read"):
                sources, unread = (inventory.read_found(found[start:start + LOAD_CHUNK_FILES]) if read is None
                                   else (read[start:start + LOAD_CHUNK_FILES], []))
            problems += unread
            with tally("parse and validate files"):
                parsed = parser.parse(sources)
            del sources
            with tally("build inventory"):
                for each in parsed:
                    file_problems.extend(each.problems)
                    if not problems:  # the run fails either way: the rest are parsed for their problems only
                        builder.add(each)
            del parsed
    tally.report()
    if problems:
        raise InputError(problems + file_problems)
    with timings.phase("check references"):
        return builder.finish()


class Parser:
    """parse_source for files, from the cache where the same path held the same bytes (or, for git
    blobs, the same blob). Misses are parsed by a pool of `jobs` processes, made for the first
    batch big enough to be worth one and kept for the next (forked while the inventory is small)."""

    def __init__(self, cache: Cache, jobs: int) -> None:
        self._cache = cache
        self._jobs = jobs
        self._pool: Any = None

    def __enter__(self) -> Parser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def parse(self, sources: Sequence[SourceFile]) -> list[ParsedFile]:
        # Keyed as parse_blobs keys git blobs, so that an audit's files serve a later diff and back.
        # A blob id is SHA-1 without git's collision detection here: an entry is taken only if the
        # bytes it was parsed from have these bytes' SHA-256, so a crafted collision is a miss.
        keys = [digest("parsed-blob", s.path, blob_id(s.data)) for s in sources]
        by_key = dict(zip(keys, sources, strict=True))
        contents = {k: _content(s.data) for k, s in by_key.items()}
        return self._parsed(keys, lambda missing: [by_key[k] for k in missing], contents)

    def parse_blobs(self, entries: Sequence[tuple[str, str]], read: Callable[[Iterable[str]], Mapping[str, bytes]]
                    ) -> list[ParsedFile]:
        keys = [digest("parsed-blob", path, sha) for path, sha in entries]
        by_key = dict(zip(keys, entries, strict=True))

        def sources(missing: Sequence[str]) -> list[SourceFile]:
            data = read(by_key[k][1] for k in missing)
            return [SourceFile(by_key[k][0], data[by_key[k][1]]) for k in missing]

        return self._parsed(keys, sources)

    def _parsed(self, keys: Sequence[str], sources_of: Callable[[Sequence[str]], list[SourceFile]],
                contents: Mapping[str, str] | None = None) -> list[ParsedFile]:
        """Each key's ParsedFile, from the cache, or parsed from sources_of(the distinct keys it lacks)
        (a source per key, in that order); fresh ones are stored in the form the workers send them.
        `contents`, when given: key -> the SHA-256 an entry's bytes must have had to be taken."""
        found = {k: _thaw(v, contents.get(k) if contents is not None else None)
                 for k, v in self._cache.get_marshal("parsed", keys).items()}
        missing = [k for k in dict.fromkeys(keys) if found.get(k) is None]
        if missing:
            fresh = dict(zip(missing, self.parse_all(sources_of(missing)), strict=True))
            self._cache.put_many("parsed", fresh)
            found.update((k, _thaw(marshal.loads(v))) for k, v in fresh.items())
        return [found[k] for k in keys]  # type: ignore[misc]

    def _parallel(self, sources: Sequence[SourceFile]) -> bool:
        """Worth the workers: several files, and a pool already made or enough work to pay for one."""
        if self._jobs <= 1 or len(sources) < 2:
            return False
        return self._pool is not None or len(sources) >= PARALLEL_PARSE_MIN_FILES \
            or sum(len(s.data) for s in sources) >= PARALLEL_PARSE_MIN_BYTES

    def parse_all(self, sources: Sequence[SourceFile]) -> list[bytes]:
        """_parsed_form of each, no cache: what parse_source found, marshalled (the cache's form,
        and several times cheaper than pickle to send back from a worker and read)."""
        if not self._parallel(sources):
            return [_parsed_form(s) for s in sources]
        if self._pool is None:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                                  else "spawn")
            self._pool = context.Pool(self._jobs, initializer=die_with_parent, initargs=(os.getpid(),))
        # Largest files first in small chunks, so a few big people files do not land on one worker last.
        order = sorted(range(len(sources)), key=lambda i: -len(sources[i].data))
        chunk = max(1, min(16, len(sources) // (4 * self._jobs)))
        done = self._pool.map(_parsed_form, [sources[i] for i in order], chunksize=chunk)
        result: list[bytes] = [b""] * len(sources)
        for position, index in enumerate(order):
            result[index] = done[position]
        return result


def _parsed_form(source: SourceFile) -> bytes:
    return marshal.dumps((_content(source.data), *_freeze(inventory.parse_source(source))))


def _content(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_sources(sources: Sequence[SourceFile], cache: Cache, jobs: int) -> list[ParsedFile]:
    """parse_source for every file, from the cache where the same path held the same bytes."""
    with Parser(cache, jobs) as parser:
        return parser.parse(sources)


def parse_blobs(entries: Sequence[tuple[str, str]], read: Callable[[Iterable[str]], Mapping[str, bytes]],
                cache: Cache, jobs: int) -> list[ParsedFile]:
    """parse_source for (path, git blob id) pairs, cached by blob id: a file met in an earlier run (or
    on the other side of a diff) is neither read from git nor parsed again."""
    with Parser(cache, jobs) as parser:
        return parser.parse_blobs(entries, read)


class ParsedBlobs:
    """(path, blob id) -> ParsedFile, parsed when first asked for (parse_blobs): a blob that is the same
    on both sides of a diff, or was met by an earlier run, is read and parsed once. `then` is called
    once, after the first batch is in: what may use the cores the parsing workers leave (engine start)."""

    def __init__(self, read: Callable[[Iterable[str]], Mapping[str, bytes]], cache: Cache, jobs: int,
                 then: Callable[[], None] | None = None) -> None:
        self._read, self._cache, self._jobs, self._then = read, cache, jobs, then
        self._parsed: dict[tuple[str, str], ParsedFile] = {}

    def __call__(self, entries: Sequence[tuple[str, str]]) -> list[ParsedFile]:
        missing = sorted(set(entries).difference(self._parsed))
        if missing:
            self._parsed.update(zip(missing, parse_blobs(missing, self._read, self._cache, self._jobs), strict=True))
        if self._then is not None:
            then, self._then = self._then, None
            then()
        return [self._parsed[entry] for entry in entries]

    def drop(self) -> None:
        self._parsed.clear()


def _freeze(parsed: ParsedFile) -> tuple[Any, ...]:
    """A ParsedFile as plain values, for the cache."""
    doc = parsed.doc
    body = (doc.value, doc.key_lines, doc.item_lines, doc.root_line) if doc is not None else None
    return (parsed.path, body, tuple((p.file, p.line, p.message) for p in parsed.problems))


def _thaw(value: Any, content: str | None = None) -> ParsedFile | None:
    """The ParsedFile of a cache value (the SHA-256 of its bytes, then _freeze's parts), or None when
    it is not what this code writes or, with `content` given, was parsed from other bytes."""
    try:
        sha, path, body, problems = value
        if content is not None and sha != content:
            return None
        doc = Document(*body) if body is not None else None
        return ParsedFile(path, doc, tuple(Problem(*p) for p in problems))
    except (TypeError, ValueError):
        return None  # not what this code writes: a miss


# ---------------------------------------------------------------- evaluation with the result cache


def input_keys(inv: Inventory, as_of: str, policy_key: str, group_ids: Sequence[str]) -> dict[str, str]:
    """group id -> a key that changes exactly when the group's joined input (or policies, or date) changes.

    Hashing the parts the input is joined from, instead of the joined input itself, keeps a warm
    run from joining and serialising every membership again: each person is hashed once.
    """
    prefix = digest(policy_key, as_of).encode()
    people = inv.people
    keys = {}
    for gid in group_ids:
        group = inv.groups[gid]
        h = hashlib.sha256(prefix)
        h.update(group.content_key)
        for member in group.members:
            h.update(people[member].content_key)
        keys[gid] = h.hexdigest()
    return keys


def compact(raw: RawResult) -> RawResult:
    """A raw result without its empty sets (most of them), as cached; findings read the same."""
    return {rule: kept for rule, levels in raw.items() if (kept := {lv: e for lv, e in levels.items() if e})}


def evaluate_groups(engine_for: Callable[[], PolicyEngine], inv: Inventory, as_of: str, policy_key: str,
                    cache: Cache, group_ids: Sequence[str] | None = None, chunk: int = EVALUATE_CHUNK
                    ) -> dict[str, RawResult]:
    """Raw results per group, evaluating only cache misses (the engine is made only if needed),
    `chunk` groups joined, evaluated and stored at a time."""
    ids = sorted(inv.groups) if group_ids is None else list(group_ids)
    with timings.phase("cache lookup"):
        keys = input_keys(inv, as_of, policy_key, ids)
        cached = cache.get_marshal("result", set(keys.values()))
    missing = [gid for gid in ids if keys[gid] not in cached]
    results = {gid: cached[keys[gid]] for gid in ids if keys[gid] in cached}
    if missing:
        with timings.phase(f"evaluate {len(missing)} groups"):
            # largest first across chunks too: a chunk of big groups, then ever smaller ones
            missing.sort(key=lambda gid: -len(inv.groups[gid].members))
            _evaluate_chunks(engine_for, "group", missing, lambda gid: group_input(inv.groups[gid], inv.people, as_of),
                             keys, cache, chunk, results)
    return results


def _evaluate_chunks(engine_for: Callable[[], PolicyEngine], scope: str, ids: Sequence[str],
                     input_of: Callable[[str], dict[str, Any]], keys: Mapping[str, str], cache: Cache, chunk: int,
                     results: dict[str, RawResult]) -> None:
    """Join, evaluate and store `chunk` inputs at a time into `results`: only one chunk's joined
    inputs are held at once."""
    for part in _chunks(ids, chunk):
        inputs = [(rid, input_of(rid)) for rid in part]
        fresh = {rid: compact(raw) for rid, raw in engine_for().evaluate(inputs, scope).items()}
        del inputs
        results.update(fresh)  # compact like the cached ones, so a result never depends on the cache
        cache.put_marshal("result", {keys[rid]: fresh[rid] for rid in part})


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + size]


def evaluate_people(engine_for: Callable[[], PolicyEngine], inv: Inventory, as_of: str, policy_key: str,
                    cache: Cache, rules: Mapping[str, RuleInfo], person_ids: Iterable[str] | None = None,
                    cached_only: bool = False, chunk: int = EVALUATE_CHUNK) -> dict[str, RawResult]:
    """Raw person-scope results, like evaluate_groups; nothing at all (no key, no input) when the
    policies have no person-scope family.

    For everyone (`person_ids` None): the people who have any results. A warm run with nothing
    changed reads one entry (every person's results, under a digest of the whole inventory's people
    and groups); otherwise each person is looked up by their own key, which changes exactly when
    their person-scope input does. For these people: each one's result, found or evaluated;
    `cached_only`: what the cache has, evaluating nothing.
    """
    if not any(rule.scope == "person" for rule in rules.values()):
        return {}
    prefix = person_prefix(policy_key, as_of)
    everyone = person_ids is None and not cached_only
    with timings.phase("person cache lookup"):
        whole = _people_digest(inv, prefix) if everyone else ""
        if everyone:
            found = cache.get_marshal("people", [whole]).get(whole)
            if isinstance(found, dict):
                return found
        ids = sorted(inv.people) if person_ids is None else sorted(person_ids)
        groups_of = memberships(inv) if person_ids is None else memberships_of(inv, ids)
        keys = person_keys(inv, prefix, ids, groups_of=groups_of)
        cached = cache.get_marshal("result", set(keys.values()))
    missing = [] if cached_only else [pid for pid in ids if keys[pid] not in cached]
    results = {pid: cached[keys[pid]] for pid in ids if keys[pid] in cached}
    if missing:
        with timings.phase(f"evaluate {len(missing)} people"):
            views: dict[str, dict[str, Any]] = {}
            _evaluate_chunks(engine_for, "person", missing,
                             lambda pid: person_input(inv.people[pid], [inv.groups[g] for g in groups_of[pid]], as_of,
                                                      views), keys, cache, chunk, results)
    if not everyone:
        return results
    with_findings = {pid: raw for pid, raw in results.items() if raw}
    cache.put_marshal("people", {whole: with_findings})
    return with_findings


def _people_digest(inv: Inventory, prefix: bytes) -> str:
    """Moves whenever any person-scope input may have: any person's record, any group's fields,
    owner or members (and more often than that: a description; then each person's key decides)."""
    h = hashlib.sha256(prefix)
    for pid in sorted(inv.people):
        h.update(f"\0p{pid}\0".encode())
        h.update(inv.people[pid].content_key)
    for gid in sorted(inv.groups):
        group = inv.groups[gid]
        h.update(f"\0g{gid}\0{len(group.members)}\0".encode())
        h.update(group.content_key)
        h.update("\0".join(group.members).encode())
    return h.hexdigest()


def person_prefix(policy_key: str, as_of: str) -> bytes:
    """What every person-scope result key starts from: the policies (and engine) and the date."""
    return digest(policy_key, as_of, "person").encode()


def findings(engine_for: Callable[[], PolicyEngine], inv: Inventory, as_of: str,
             rules: Mapping[str, RuleInfo], cache: Cache | None = None, policy_key: str = "") -> list[Finding]:
    """Evaluated and waived findings of one inventory, group-scope and person-scope."""
    found = policy_findings(engine_for, inv, as_of, rules, cache or NoCache(), policy_key)
    return waivers.apply(found, inv.waivers, as_of, waivers.owners_of(inv))


def policy_findings(engine_for: Callable[[], PolicyEngine], inv: Inventory, as_of: str,
                    rules: Mapping[str, RuleInfo], cache: Cache, policy_key: str) -> list[Finding]:
    """Findings of every group-scope and person-scope family, before waivers."""
    raw = evaluate_groups(engine_for, inv, as_of, policy_key, cache)
    found: list[Finding] = []
    for gid in sorted(raw):
        found.extend(evaluate.to_findings(inv.groups[gid], raw[gid], rules))
    by_person = evaluate_people(engine_for, inv, as_of, policy_key, cache, rules)
    for pid in sorted(by_person):
        found.extend(evaluate.to_person_findings(inv.people[pid], by_person[pid], rules))
    return found


def shown(path: Path) -> str:
    """The path as every report shows it (SPEC §7): relative to the root of the git work tree that holds
    it, whatever the working directory and however the path was given; outside a work tree, relative
    to the working directory when below it."""
    absolute = path.resolve()
    root = work_tree_root(absolute if absolute.is_dir() else absolute.parent)
    for base in (root, Path.cwd().resolve()):
        if base is not None:
            try:
                return absolute.relative_to(base).as_posix()
            except ValueError:
                pass
    return path.as_posix()


@functools.lru_cache(maxsize=64)
def work_tree_root(path: Path) -> Path | None:
    """The nearest folder at or above `path` with a `.git` entry (a folder, or a file in a worktree or
    submodule): where git itself would find the work tree."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None
