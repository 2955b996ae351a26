"""A diff's two inventories without building every file twice (issue 12.3).

The merge base's inventory is kept whole in the cache, keyed by everything building depends on: the
(path, blob id) listing of its files, what references resolve against (data classes, jurisdictions,
rule ids), the file-size limit, and the checker's own code (in every cache key). Only a tree that
built without a problem is stored, so a stored inventory holds every record of its files.

The head is then built from the base: the records of the files the change touched are dropped, the
touched files' new contents are built and every cross-file check that the change could make fail is
made again (duplicate ids, references to people, groups removed, identity uniqueness). Any problem
at all, or anything unexpected, means None: the caller builds the head in full, which reports the
problems exactly as it always has (file and line, the same order and wording).
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from checker import inventory
from checker.cache import Cache, digest
from checker.errors import InputError
from checker.git_objects import listing_digest
from checker.inventory import Known, Lines, ParsedFile
from checker.models import Group, Inventory, Location, Person, Waiver
from checker.observed.identity import identity_problems

SPACE = "inventory"
FREEZE_MIN_RECORDS = 50_000  # records read back past which the collector is told to leave them be
_R = TypeVar("_R", Person, Group, Waiver)


def key(listing: Iterable[tuple[str, str]], known: Known) -> str:
    """The cache key of the inventory built from these (path, blob id) files under `known`."""
    return digest(SPACE, str(inventory.max_file_bytes()), "\0".join(sorted(known.data_classes)),
                  "\0".join(sorted(known.jurisdictions)),
                  "-" if known.rule_ids is None else "\0".join(sorted(known.rule_ids)), listing_digest(listing))


def get(cache: Cache, inventory_key: str) -> Inventory | None:
    """The inventory stored under this key, or None (absent, or not what this code writes)."""
    collecting = gc.isenabled()
    gc.disable()  # ~2 million objects, none of them garbage: the collector's passes would cost a second
    try:
        value = cache.get_marshal(SPACE, [inventory_key]).get(inventory_key)
        found = None if value is None else _thaw(value)
    except (TypeError, ValueError, KeyError, IndexError):
        found = None
    finally:
        if collecting:
            gc.enable()
    if found is not None and len(found.people) + len(found.groups) >= FREEZE_MIN_RECORDS:
        # Kept for the rest of the run and free of cycles: every later collection would walk them all
        # again (half a second at 100,000 groups). Frozen objects are still freed by reference counting.
        gc.freeze()
    return found


def put(cache: Cache, inventory_key: str, inv: Inventory) -> None:
    """Store an inventory that built without a problem (never call it for any other)."""
    cache.put_marshal(SPACE, {inventory_key: _freeze(inv)})


def head_from(base: Inventory, base_files: Mapping[str, str], head_files: Mapping[str, str],
              parse: Callable[[Sequence[tuple[str, str]]], list[ParsedFile]], known: Known) -> Inventory | None:
    """The head's inventory from the base's (built under the same `known` without a problem), when the
    head builds without a problem too; None otherwise (the caller then builds it in full).

    `base_files`, `head_files`: path -> blob id of every inventory file on each side."""
    touched = {p for p in base_files.keys() | head_files.keys() if base_files.get(p) != head_files.get(p)}
    kept_people = _kept(base.people, touched)
    kept_groups = _kept(base.groups, touched)
    kept_waivers = _kept(base.waivers, touched)
    builder = inventory.Builder(known)
    builder.claim_existing({"people": _locations(kept_people), "groups": _locations(kept_groups),
                            "waivers": _locations(kept_waivers)})
    for parsed in parse(sorted((p, head_files[p]) for p in touched if p in head_files)):
        builder.add(parsed)
    try:  # the touched files' records, checked against everything (claimed ids and the new records)
        new = builder.finish()
    except InputError:
        return None
    people = _merged(kept_people, new.people)
    groups = _merged(kept_groups, new.groups)
    waivers = _merged(kept_waivers, new.waivers)
    if len(people) != len(kept_people) + len(new.people) or len(groups) != len(kept_groups) + len(new.groups) \
            or len(waivers) != len(kept_waivers) + len(new.waivers):
        return None  # an id on both sides of the merge: finish() has claimed it already, so never here
    dropped = base.people.keys() - kept_people.keys()  # the people of touched files (set speed, not a loop)
    if any(pid not in people for pid in dropped) and not all(_refs_known(g, people) for g in kept_groups.values()):
        return None  # an unchanged group still names someone the change removed
    if not all(_waiver_refs_known(w, people, groups) for w in kept_waivers.values()):
        return None  # an unchanged waiver names a group or person the change removed
    if identity_problems(people, groups):
        return None
    return Inventory(people, groups, waivers, tuple(sorted(head_files)))


def _kept(records: Mapping[str, _R], touched: set[str]) -> dict[str, _R]:
    return {rid: r for rid, r in records.items() if r.location.file not in touched}


def _locations(records: Mapping[str, Person | Group | Waiver]) -> dict[str, Location]:
    return {rid: r.location for rid, r in records.items()}


def _merged(kept: Mapping[str, _R], new: Mapping[str, _R]) -> dict[str, _R]:
    """Both in the order a full build inserts them: by file path (the two share no file), then as listed."""
    if not new:
        return dict(kept)
    return dict(heapq.merge(kept.items(), new.items(), key=lambda item: item[1].location.file))


def _refs_known(group: Group, people: Mapping[str, Person]) -> bool:
    reviewed = group.fields.get("reviewed")
    by = reviewed.get("by") if isinstance(reviewed, dict) else None
    return group.owner in people and all(m in people for m in group.members) and \
        not (isinstance(by, str) and by not in people)


def _waiver_refs_known(waiver: Waiver, people: Mapping[str, Person], groups: Mapping[str, Group]) -> bool:
    return waiver.group in groups and waiver.approved_by in people and \
        (waiver.person is None or waiver.person in people)


# ---------------------------------------------------------------- the cache's plain values


def _freeze(inv: Inventory) -> tuple[Any, ...]:
    people = [(p.id, p.record, p.location.file, p.location.line, *_lines(p.field_lines), p.email, p.accounts)
              for p in inv.people.values()]
    groups = [(g.id, g.fields, g.owner, g.members, g.location.file, g.location.line, g.member_lines,
               *_lines(g.field_lines), g.data_class_lines, g.external_id) for g in inv.groups.values()]
    waivers = [(w.id, w.rule, w.group, w.person, w.reason, w.approved_by, w.expires, w.location.file,
                w.location.line) for w in inv.waivers.values()]
    return (people, groups, waivers, inv.files)


def _lines(lines: Mapping[str, int]) -> tuple[tuple[str, ...], bytes]:
    if not isinstance(lines, Lines):
        raise TypeError("field lines are not Lines")
    return lines.parts()


def _thaw(value: Any) -> Inventory:
    rows_people, rows_groups, rows_waivers, files = value
    people = {}
    for pid, record, file, line, keys, data, email, accounts in rows_people:
        people[pid] = Person(pid, record, Location(file, line), Lines.from_parts(keys, data), email, accounts)
    groups = {}
    for (gid, fields, owner, members, file, line, member_lines, keys, data, data_class_lines,
         external_id) in rows_groups:
        groups[gid] = Group(gid, fields, owner, members, Location(file, line), member_lines,
                            Lines.from_parts(keys, data), data_class_lines, external_id)
    waivers = {}
    for wid, rule, group, person, reason, approved_by, expires, file, line in rows_waivers:
        waivers[wid] = Waiver(wid, rule, group, person, reason, approved_by, expires, Location(file, line))
    return Inventory(people, groups, waivers, tuple(files))
