"""What a change to the inventory can affect, read from the files it touched (issue 12.1-12.3). Pure.

Both sides of a diff are judged by the same policies (the base tip's), so a group's findings can
differ only when its joined input differs (its own record, or the record of its owner or of a
member) or a waiver aimed at it changed; a person's person-scope findings only when their record,
the view or their role of a group they are in (on either side), or a waiver that can apply to them
changed. A file whose blob id is the same on both sides builds the same records, so only the
records of changed files are compared, and nothing is joined or hashed for the rest: the cost
follows the change, not the organisation.

Validity is not decided here: both inventories are built and checked in full before this runs
(the head from the base's records, checker.incremental, with every cross-file check made again),
so a change that breaks a reference from a file it did not touch (a person removed who is still a
member of an unchanged group) has already failed the run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from checker.models import Group, Inventory, Person, Waiver

_Record = TypeVar("_Record", Person, Group)


@dataclass(frozen=True)
class Affected:
    """Ids (of either side) whose findings the change may have changed; the rest are settled."""

    groups: frozenset[str]
    people: frozenset[str] | None  # None: anyone's (a changed person-scope waiver that names nobody)


def changed_files(base: Iterable[tuple[str, str]], head: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Paths whose (path, blob id) differs between the two listings: added, removed or edited files."""
    return frozenset(path for path, _ in set(base) ^ set(head))


def affected(base: Inventory, head: Inventory, changed: Collection[str], person_rules: Collection[str],
             changed_waivers: Iterable[Waiver]) -> Affected:
    """The groups and people whose findings may differ between `base` and `head`, given the files
    that differ (`changed`) and the waivers the change added, removed or altered."""
    moved_people = _changed_records(base.people, head.people, changed, _person_input)
    moved_groups = _changed_records(base.groups, head.groups, changed, _group_input)
    groups = set(moved_groups)
    if moved_people:
        for inv in (base, head):  # a member's (or the owner's) record is part of the group's input
            groups.update(gid for gid, group in inv.groups.items() if not moved_people.isdisjoint(group.members))
    waivers = list(changed_waivers)
    groups.update(w.group for w in waivers)
    person_waivers = [w for w in waivers if w.rule in person_rules]
    if any(w.person is None for w in person_waivers):
        return Affected(frozenset(groups), None)  # it applies to whoever the rule names in that group
    people = set(moved_people)
    people.update(w.person for w in person_waivers if w.person is not None)
    for gid in moved_groups:  # their view, size or a member's role changed: each member's input did
        for inv in (base, head):
            group = inv.groups.get(gid)
            if group is not None:
                people.update(group.members)
    return Affected(frozenset(groups), frozenset(people))


def _changed_records(before: Mapping[str, _Record], after: Mapping[str, _Record], changed: Collection[str],
                     input_of: Callable[[_Record], object]) -> set[str]:
    """Ids on one side only, or in a changed file on either side with a different policy input."""
    out = set(before.keys() ^ after.keys())
    if not changed:
        return out
    for records in (before, after):
        for rid, record in records.items():
            if record.location.file in changed and rid not in out and input_of(before[rid]) != input_of(after[rid]):
                out.add(rid)
    return out


def _person_input(person: Person) -> object:
    return person.content_key


def _group_input(group: Group) -> object:
    return group.content_key, group.members
