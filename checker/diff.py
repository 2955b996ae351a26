"""Compare the two sides of a change (pure): which inputs to evaluate, how findings classify, and
which changed line explains each introduced finding.

The same policies (the base tip's) judge both sides, so a finding can only appear because the
inventory changed: a group's own fields, its owner or members, the records of the people in it,
or the waivers. `attribute` names the line of that change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checker import evaluate, pipeline, waivers
from checker.engines import RawResult
from checker.join import group_input
from checker.models import (
    FAILING_CHANGES,
    LEVELS,
    WAIVER_RULES,
    Finding,
    Group,
    Inventory,
    Location,
    Person,
    RuleInfo,
    Waiver,
)

EMPTY = Inventory(people={}, groups={}, waivers={})

# Person fields in the order we blame them when several changed at once.
PERSON_FIELDS = ("location", "employment", "status", "trainings", "name")


# ---------------------------------------------------------------- what to evaluate


@dataclass(frozen=True)
class Plan:
    """Each distinct group input once: groups whose joined input is the same on several sides
    share one evaluation (and the result cache's entry, since the keys are pipeline.input_keys)."""

    keys: tuple[Mapping[str, str], ...]  # per side: group id -> input key
    first: Mapping[str, tuple[int, str]]  # input key -> (side, group id) where it first occurs


def plan(sides: Sequence[Inventory], as_of: str, policy_key: str, only: Sequence[Sequence[str]] | None = None
         ) -> Plan:
    """The input keys of every group of each side, or of `only` these groups per side."""
    computed: dict[int, Mapping[str, str]] = {}  # the same inventory on two sides is keyed once
    for index, inv in enumerate(sides):
        if id(inv) not in computed:
            ids = sorted(inv.groups) if only is None else only[index]
            computed[id(inv)] = pipeline.input_keys(inv, as_of, policy_key, ids)
    keys = tuple(computed[id(inv)] for inv in sides)
    first: dict[str, tuple[int, str]] = {}
    for index, side in enumerate(keys):
        for gid, key in side.items():
            first.setdefault(key, (index, gid))
    return Plan(keys, first)


def inputs_to_evaluate(todo: Plan, sides: Sequence[Inventory], as_of: str, keys: Iterable[str]
                       ) -> list[tuple[str, dict[str, Any]]]:
    """The joined inputs of these keys, each joined from the side where it first occurs."""
    out = []
    for key in keys:
        index, gid = todo.first[key]
        inv = sides[index]
        out.append((key, group_input(inv.groups[gid], inv.people, as_of)))
    return out


def side_findings(inv: Inventory, keys: Mapping[str, str], raw: Mapping[str, RawResult],
                  rules: Mapping[str, RuleInfo], as_of: str, people: Mapping[str, RawResult] | None = None,
                  complete: bool = True) -> list[Finding]:
    """One side's findings from the shared raw results (group scope) and its person-scope results,
    located in that side's files and waived with that side's waivers (waivers are inventory data).
    Not `complete`: groups without a raw result and people without one were left out on purpose
    (settled: the same on both sides), and waivers on them are not called unused."""
    people = people or {}
    found: list[Finding] = []
    for gid in sorted(inv.groups if complete else keys):
        if complete or keys[gid] in raw:
            found.extend(evaluate.to_findings(inv.groups[gid], raw[keys[gid]], rules))
    for pid in sorted(people):
        found.extend(evaluate.to_person_findings(inv.people[pid], people[pid], rules))
    undecided = None
    if not complete:
        person_rules = {r for r, info in rules.items() if info.scope == "person"}
        all_people = len(people) == len(inv.people)

        def undecided(w: Waiver) -> bool:
            if w.rule in person_rules:
                return not all_people if w.person is None else w.person not in people
            return keys.get(w.group) not in raw

    return waivers.apply(found, inv.waivers, as_of, waivers.owners_of(inv), undecided)


# ---------------------------------------------------------------- what the change cannot affect


def changed_waivers(base: Inventory, head: Inventory) -> list[Waiver]:
    """Waivers (of either side) that the change added, removed or altered, or whose group's owner it
    changed (which decides whether the waiver is self-approved)."""
    def terms(inv: Inventory, w: Waiver) -> tuple[object, ...]:
        group = inv.groups.get(w.group)
        return (w.rule, w.group, w.person, w.approved_by, w.expires, group.owner if group else None)

    out: list[Waiver] = []
    for wid in sorted(set(base.waivers) | set(head.waivers)):
        old, new = base.waivers.get(wid), head.waivers.get(wid)
        if old is None or new is None or terms(base, old) != terms(head, new):
            out.extend(w for w in (old, new) if w is not None)
    return out


# ---------------------------------------------------------------- classification


def classify(base: Iterable[Finding], head: Iterable[Finding], base_inv: Inventory, head_inv: Inventory,
             as_of: str, accept_new_waivers: bool = False) -> list[Finding]:
    """SPEC §7: every finding of either side is introduced, worsened, resolved or unchanged, by identity.

    Resolved findings keep the base side's location; the others the head's, and an introduced
    or worsened one points at the change that caused it. A finding waived at the base and in force
    at the head is introduced: the change removed its waiver, and a change must not do that quietly.
    So is a finding whose level rose from warn to deny: the change made it fail the gate. A
    finding present on both sides is worsened when its measure grew (or, without measures, its
    message changed). SPEC §5: a waiver the change adds or extends does not suppress what the
    change introduces or worsens (unless `accept_new_waivers`).
    """
    before = {f.identity: f for f in base}
    after = {f.identity: f for f in head}
    out: list[Finding] = []
    owners: tuple[Mapping[str, str], Mapping[str, str]] | None = None  # for every waived finding, made once
    for identity, finding in after.items():
        old = before.get(identity)
        if old is None:
            finding = finding.with_(change="introduced", location=attribute(finding, base_inv, head_inv))
        elif old.waived and not finding.waived and finding.rule not in WAIVER_RULES:
            finding = finding.with_(change="introduced", location=_waiver_lost(old, finding, head_inv))
        elif LEVELS.index(finding.level) < LEVELS.index(old.level):  # warn -> deny
            finding = finding.with_(change="introduced", location=attribute(finding, base_inv, head_inv))
        elif finding.rule not in WAIVER_RULES and worsened(old, finding):
            finding = finding.with_(change="worsened", location=attribute(finding, base_inv, head_inv))
        else:
            finding = finding.with_(change="unchanged")
        if finding.waived and finding.change in FAILING_CHANGES and not accept_new_waivers:
            owners = owners or (waivers.owners_of(base_inv), waivers.owners_of(head_inv))
            granted = waivers.granted_by_change(finding, base_inv, head_inv, as_of, owners)
            if granted is not None:
                finding = finding.with_(waived=False, waiver=granted[0], waiver_change=granted[1])
        out.append(finding)
    out.extend(f.with_(change="resolved") for identity, f in before.items() if identity not in after)
    return sorted(out, key=lambda f: f.sort_key)


def worsened(old: Finding, new: Finding) -> bool:
    """SPEC §7: the measure grew; where either side has none, the message changed (a level that
    fell from deny to warn is better, whatever the message says)."""
    if LEVELS.index(new.level) > LEVELS.index(old.level):
        return False
    if old.measure is not None and new.measure is not None:
        return new.measure > old.measure
    return new.message != old.message


def impact(before: Iterable[Finding], after: Iterable[Finding]) -> list[Finding]:
    """What new policies change on one inventory: findings they add (introduced) or drop (resolved)."""
    old = {f.identity: f for f in before}
    new = {f.identity: f for f in after}
    out = [f.with_(change="introduced") for i, f in new.items() if i not in old]
    out += [f.with_(change="resolved") for i, f in old.items() if i not in new]
    return sorted(out, key=lambda f: f.sort_key)


def _waiver_lost(old: Finding, finding: Finding, head_inv: Inventory) -> Location | None:
    """The waiver's line when it is still there (changed so that it no longer applies)."""
    waiver = head_inv.waivers.get(old.waiver or "")
    return waiver.location if waiver is not None else finding.location


# ---------------------------------------------------------------- attribution


def attribute(finding: Finding, base_inv: Inventory, head_inv: Inventory) -> Location | None:
    """The line of the change that explains an introduced finding.

    A member newly in the group: their entry in the group. A person whose record changed: the
    changed field in the people file, even though the group file did not change. Any other
    member finding: the member's entry. A group-level finding from the group's own change: the
    data class added, or the kind / subject_jurisdictions / owner line. A new
    group keeps the evaluation's location (its `id` line, or the member's entry for a member
    finding). Nothing found: the evaluation's location.
    """
    if finding.rule in WAIVER_RULES:
        return finding.location
    person = head_inv.people.get(finding.person or "")
    if person is not None and finding.location == person.location:  # a person-scope family's finding
        return _person_scope_cause(finding, person, base_inv, head_inv) or finding.location
    group = head_inv.groups.get(finding.group or "")
    old_group = base_inv.groups.get(finding.group or "")
    if group is None or old_group is None:
        return finding.location
    if finding.person:
        # SPEC §7: a member finding points at the member's entry, or at the person's record
        # when a change to it caused the finding, never at a group field.
        causes = _person_causes(finding, finding.person, group, old_group, base_inv, head_inv)
    else:
        causes = _group_causes(finding, group, old_group, base_inv, head_inv)
    return causes[0] if causes else finding.location


def _person_scope_cause(finding: Finding, person: Person, base_inv: Inventory, head_inv: Inventory
                        ) -> Location | None:
    """SPEC §3: a person-scope finding a change to a group caused points at the member entry that the
    change added (in the group the element names, else see _reach_cause); else at the changed field
    of the person's record."""
    if not finding.group:
        return _reach_cause(finding, person.id, base_inv, head_inv)
    group = head_inv.groups.get(finding.group)
    old = base_inv.groups.get(finding.group)
    if group is not None and person.id in group.member_lines and (old is None or person.id not in old.members):
        return _at(group, group.member_lines[person.id])
    return _record_change(base_inv.people.get(person.id), person, finding.message)


def _person_causes(finding: Finding, pid: str, group: Group, old_group: Group, base_inv: Inventory,
                   head_inv: Inventory) -> list[Location]:
    causes = []
    if pid in group.member_lines and pid not in old_group.members:
        causes.append(_at(group, group.member_lines[pid]))
    changed = _record_change(base_inv.people.get(pid), head_inv.people.get(pid), finding.message)
    if changed:
        causes.append(changed)
    return causes


def _reach_cause(finding: Finding, pid: str, base_inv: Inventory, head_inv: Inventory) -> Location | None:
    """A person-scope finding about a person's reach across groups (SPEC §3, §7): the member entry
    (or owner line) that the change added, groups with data classes first; else the changed field
    of the person's record; else a data class the change added to one of their groups."""
    added: list[tuple[bool, str, Location]] = []
    classes: list[Location] = []
    for gid in sorted(head_inv.groups):
        group = head_inv.groups[gid]
        if pid not in group.members:
            continue
        old = base_inv.groups.get(gid)
        if old is None or pid not in old.members:
            line = group.member_lines.get(pid) or (group.field_lines.get("owner") if group.owner == pid else None)
            added.append((not group.data_classes, gid, _at(group, line)))
        elif any(c not in old.data_classes for c in group.data_classes):
            new_class = next(c for c in group.data_classes if c not in old.data_classes)
            classes.append(_at(group, group.data_class_lines.get(new_class)))
    if added:
        return min(added)[2]
    return _record_change(base_inv.people.get(pid), head_inv.people.get(pid), finding.message) or (
        classes[0] if classes else None)


def _group_causes(finding: Finding, group: Group, old: Group, base_inv: Inventory, head_inv: Inventory
                  ) -> list[Location]:
    causes = []
    added = [c for c in group.data_classes if c not in old.data_classes]
    if added:
        name = _mentioned(added, finding.message) or added[0]
        causes.append(_at(group, group.data_class_lines.get(name)))
    for key in ("subject_jurisdictions", "kind"):
        if group.fields.get(key) != old.fields.get(key):
            causes.append(_at(group, group.field_lines.get(key)))
    if group.owner != old.owner:
        causes.append(_at(group, group.field_lines.get("owner")))
    owner_change = _record_change(base_inv.people.get(group.owner), head_inv.people.get(group.owner),
                                  finding.message)
    if owner_change:
        causes.append(owner_change)
    if finding.person is None:  # whole-group findings (size, ...) can come from anyone in it
        new_members = [m for m in group.members if m not in old.members]
        if new_members:
            name = _mentioned(new_members, finding.message) or new_members[0]
            causes.append(_at(group, group.member_lines.get(name)))
        for member in group.members:
            changed = _record_change(base_inv.people.get(member), head_inv.people.get(member), finding.message)
            if changed:
                causes.append(changed)
    for key in sorted(set(group.fields) | set(old.fields)):
        if group.fields.get(key) != old.fields.get(key):
            causes.append(_at(group, group.field_lines.get(key)))
    return causes


def _record_change(before: Person | None, after: Person | None, message: str) -> Location | None:
    """The line of a person's changed field (preferring one whose new value the message names)."""
    if after is None or before is None or before.record == after.record:
        return None
    changed = [k for k in PERSON_FIELDS if before.record.get(k) != after.record.get(k)]
    changed += sorted(k for k in set(before.record) | set(after.record)
                      if k not in PERSON_FIELDS and before.record.get(k) != after.record.get(k))
    with_line = [k for k in changed if k in after.field_lines]
    named = [k for k in with_line if isinstance(after.record.get(k), str) and after.record[k] in message]
    picks = named or with_line
    line = after.field_lines[picks[0]] if picks else after.location.line
    return Location(after.location.file, line)


def _mentioned(names: Sequence[str], message: str) -> str | None:
    return next((n for n in names if n in message), None)


def _at(group: Group, line: int | None) -> Location:
    return Location(group.location.file, line or group.location.line)
