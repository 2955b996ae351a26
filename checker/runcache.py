"""A whole audit's findings under one cache entry, for the warm run where nothing changed.

Between reading the files and reporting, an audit is pure: its findings are a function of every
inventory file's path and bytes, the policies and engine (PolicySet digest and engine identity),
the date, and the checker's own code (in every cache key). The entry's key is a digest of exactly
those, so a run that finds it skips parsing, building, joining and per-group lookups; any change
to any of them is another key, and the run takes the full path, which caches per file and per
group as before. Only a run that completed writes an entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checker import inventory
from checker.cache import Cache, digest
from checker.git_objects import blob_id
from checker.inventory import SourceFile
from checker.models import Finding, Location

SPACE = "run"
READ_CHUNK_FILES = 1000  # files held in memory at a time while hashing
# Files kept for the full path after a miss, up to this many bytes in all (a 10,000-group org is
# ~13 MB); past it they are read again, so a large inventory's bytes are never held all at once.
KEEP_READ_BYTES = 64 * 2**20


def key(root: Path, display_root: str, as_of: str, policy_key: str, listing: list[tuple[str, str]] | None = None
        ) -> tuple[str | None, list[SourceFile] | None]:
    """The entry's key for an audit of the inventory folder `root` (None when any file or folder could
    not be read: the full path reports why), and the files read, when they total at most
    KEEP_READ_BYTES: on a miss the full path parses them without reading them again. `listing`, when
    given, gets each file's (path, git blob id), for checker.sidecache (complete when the key is not None)."""
    found, problems = inventory.list_tree(root, display_root)
    if problems:
        return None, None
    h = hashlib.sha256(digest(SPACE, policy_key, as_of, str(inventory.max_file_bytes())).encode())
    kept: list[SourceFile] | None = [] if sum(f.size for f in found) <= KEEP_READ_BYTES else None
    for start in range(0, len(found), READ_CHUNK_FILES):
        sources, unread = inventory.read_found(found[start:start + READ_CHUNK_FILES])
        if unread:
            return None, None
        for source in sources:
            path = source.path.encode()
            h.update(len(path).to_bytes(8, "little") + path + len(source.data).to_bytes(8, "little"))
            h.update(source.data)
            if listing is not None:
                listing.append((source.path, blob_id(source.data)))
        if kept is not None:
            kept += sources
    return h.hexdigest(), kept


def get(cache: Cache, run_key: str) -> tuple[list[Finding], int, int] | None:
    """(findings, groups, people) of the audit stored under this key, or None."""
    value = cache.get_marshal(SPACE, [run_key]).get(run_key)
    try:
        rows, groups, people = value  # type: ignore[misc]
        return [_thaw(row) for row in rows], int(groups), int(people)
    except (TypeError, ValueError):
        return None  # absent, or not what this code writes: the full path


def put(cache: Cache, run_key: str, findings: Sequence[Finding], groups: int, people: int) -> None:
    cache.put_marshal(SPACE, {run_key: ([_freeze(f) for f in findings], groups, people)})


def _freeze(f: Finding) -> tuple[Any, ...]:
    where = (f.location.file, f.location.line) if f.location is not None else None
    return (f.rule, f.level, f.group, f.person, f.message, where, f.waived, f.waiver, f.change, f.measure,
            f.waiver_change)


def _thaw(row: tuple[Any, ...]) -> Finding:
    rule, level, group, person, message, where, waived, waiver, change, measure, waiver_change = row
    location = Location(*where) if where is not None else None
    return Finding(rule, level, group, person, message, location, waived, waiver, change, measure, waiver_change)
