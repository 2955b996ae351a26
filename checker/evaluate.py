"""Engine results -> findings with locations (the conversion is pure; the engine call is the only I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checker.engines import RawResult
from checker.errors import PolicyError, Problem
from checker.join import group_input, group_view_digest, memberships, person_input
from checker.models import Finding, Group, Inventory, Location, Person, RuleInfo


def inputs_for(inventory: Inventory, as_of: str, group_ids: Sequence[str] | None = None
               ) -> list[tuple[str, dict[str, Any]]]:
    ids = sorted(inventory.groups) if group_ids is None else group_ids
    return [(gid, group_input(inventory.groups[gid], inventory.people, as_of)) for gid in ids]


def person_inputs_for(inventory: Inventory, as_of: str, person_ids: Sequence[str] | None = None
                      ) -> list[tuple[str, dict[str, Any]]]:
    """(person id, person-scope input) for everyone, or for these people."""
    groups_of = memberships(inventory)
    ids = sorted(inventory.people) if person_ids is None else person_ids
    return [(pid, person_input(inventory.people[pid], [inventory.groups[g] for g in groups_of[pid]], as_of))
            for pid in ids]


@dataclass(frozen=True)
class Element:
    """One deny/warn element, its shape checked (SPEC §3)."""

    message: str
    person: str | None = None
    group: str | None = None
    measure: int | float | None = None


def to_findings(group: Group, raw: RawResult, rules: Mapping[str, RuleInfo]) -> list[Finding]:
    """One group's raw deny/warn elements -> Findings, checking their shape (SPEC §3)."""
    found = []
    for rule_id, level, element in _elements(raw, rules, "person"):
        line = group.member_lines.get(element.person) if element.person else None
        location = Location(group.location.file, line or group.location.line)
        found.append(Finding(rule_id, level, group.id, element.person, element.message, location,
                             measure=element.measure))
    return _one_per_identity(found)


def to_person_findings(person: Person, raw: RawResult, rules: Mapping[str, RuleInfo]) -> list[Finding]:
    """One person's raw person-scope elements -> Findings: `person` is the person, `group` the group
    the element names or None, located at the person's record (SPEC §3)."""
    found = [Finding(rule_id, level, element.group, person.id, element.message, person.location,
                     measure=element.measure)
             for rule_id, level, element in _elements(raw, rules, "group")]
    return _one_per_identity(found)


def reach_changes(person_id: str, base: Inventory, head: Inventory) -> list[Location]:
    """For `diff` (SPEC §3, §7): the head's member entries that changed what person-scope families
    see of this person: groups they joined, and groups they are in whose person-scope view (classes,
    jurisdictions, kind, owner, size) or their role changed. In file and line order; empty when
    nothing but the person's own record changed, so the record is where the finding points."""
    out = []
    for group in head.groups.values():
        if person_id not in group.member_lines:
            continue
        old = base.groups.get(group.id)
        if (old is None or person_id not in old.member_lines or group_view_digest(old) != group_view_digest(group)
                or (old.owner == person_id) != (group.owner == person_id)):
            out.append(Location(group.location.file, group.member_lines[person_id]))
    return sorted(out)


def _one_per_identity(found: list[Finding]) -> list[Finding]:
    """One finding per identity: keep the deny over a warn, then the first message in order."""
    by_identity: dict[tuple[str, ...], Finding] = {}
    for finding in found:
        key = finding.identity
        kept = by_identity.get(key)
        if kept is None or (finding.level, finding.message) < (kept.level, kept.message):
            by_identity[key] = finding
    return list(by_identity.values())


def _elements(raw: RawResult, rules: Mapping[str, RuleInfo], id_field: str) -> list[tuple[str, str, Element]]:
    out: list[tuple[str, str, Element]] = []
    for rule_id, levels in raw.items():
        rule = rules[rule_id]
        for level, elements in levels.items():
            if not elements and isinstance(elements, list):
                continue  # most groups break most rules not at all
            if not isinstance(elements, list):
                raise PolicyError([Problem(rule.file, None, f"{rule.package}.{level} is not a set")])
            out.extend((rule_id, level, _element(rule, level, element, id_field)) for element in elements)
    return out


def _element(rule: RuleInfo, level: str, element: Any, id_field: str) -> Element:
    """A string, or an object with `msg` and optionally `measure` and the id field of the scope
    (`person` in a group-scope family, `group` in a person-scope one)."""
    where = f"{rule.package}.{level}"
    if isinstance(element, str):
        return Element(element)
    if not (isinstance(element, dict) and isinstance(element.get("msg"), str)):
        raise PolicyError([Problem(rule.file, None, f"{where}: an element must be a string or an "
                                                    f"object with a string `msg`, got {json_preview(element)}")])
    named = element.get(id_field)
    if named is not None and not isinstance(named, str):
        raise PolicyError([Problem(rule.file, None, f"{where}: `{id_field}` must be a string {id_field} id, "
                                                    f"got {named!r}")])
    measure = element.get("measure")
    if measure is not None and (isinstance(measure, bool) or not isinstance(measure, int | float)):
        raise PolicyError([Problem(rule.file, None, f"{where}: `measure` must be a number, got {measure!r}")])
    if id_field == "person":
        return Element(element["msg"], person=named, measure=measure)
    return Element(element["msg"], group=named, measure=measure)


def json_preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."
