"""Engine results -> findings with locations (the conversion is pure; the engine call is the only I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checker.engines import RawResult
from checker.errors import PolicyError, Problem
from checker.join import group_input
from checker.models import Finding, Group, Inventory, Location, RuleInfo


def inputs_for(inventory: Inventory, as_of: str, group_ids: Sequence[str] | None = None
               ) -> list[tuple[str, dict[str, Any]]]:
    ids = sorted(inventory.groups) if group_ids is None else group_ids
    return [(gid, group_input(inventory.groups[gid], inventory.people, as_of)) for gid in ids]


def to_findings(group: Group, raw: RawResult, rules: Mapping[str, RuleInfo]) -> list[Finding]:
    """One group's raw deny/warn elements -> Findings, checking their shape (SPEC §3)."""
    by_identity: dict[tuple[str, str | None], Finding] = {}
    for rule_id, levels in raw.items():
        rule = rules[rule_id]
        for level, elements in levels.items():
            if not elements and isinstance(elements, list):
                continue  # most groups break most rules not at all
            if not isinstance(elements, list):
                raise PolicyError([Problem(rule.file, None, f"{rule.package}.{level} is not a set")])
            for element in elements:
                message, person = _element(rule, level, element)
                line = group.member_lines.get(person) if person else None
                location = Location(group.location.file, line or group.location.line)
                finding = Finding(rule_id, level, group.id, person, message, location,
                                  measure=_measure(rule, level, element))
                key = (rule_id, person)
                # One finding per identity: keep the deny over a warn, then the first message in order.
                if key not in by_identity or (level, message) < (by_identity[key].level, by_identity[key].message):
                    by_identity[key] = finding
    return list(by_identity.values())


def _element(rule: RuleInfo, level: str, element: Any) -> tuple[str, str | None]:
    if isinstance(element, str):
        return element, None
    if isinstance(element, dict) and isinstance(element.get("msg"), str):
        person = element.get("person")
        if person is not None and not isinstance(person, str):
            raise PolicyError([Problem(rule.file, None, f"{rule.package}.{level}: `person` must be a string "
                                                        f"person id, got {person!r}")])
        return element["msg"], person
    raise PolicyError([Problem(rule.file, None, f"{rule.package}.{level}: an element must be a string or an "
                                                f"object with a string `msg`, got {json_preview(element)}")])


def _measure(rule: RuleInfo, level: str, element: Any) -> float | None:
    """An element's optional `measure` (SPEC §3): a number, compared in diff."""
    value = element.get("measure") if isinstance(element, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError([Problem(rule.file, None, f"{rule.package}.{level}: `measure` must be a number, got "
                                                    f"{json_preview(value)}")])
    return value


def json_preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."
