"""A big group evaluated in parts, one per worker, each part judging some of the rule families.

The entry query is an object of one entry per family, each entry only reading that family's
deny/warn rules (entry_query): no family's answer depends on another's, so evaluating the
families in separate queries and putting the entries together gives exactly the one query's
answer, and an error or undefined answer in any part fails the whole group, as it would have.
Which families go together only decides how evenly the work is spread: a small probe (the group
cut to its first PROBE_MEMBERS members) times each family, and the families are dealt to the parts
heaviest first, each to the lightest part so far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checker.engines import RawResult

SPLIT_MEMBERS = 2_000  # a group with at least this many members is split (when there are 2+ workers)
PROBE_MEMBERS = 128


def member_count(document: Mapping[str, Any]) -> int:
    group = document.get("group")
    members = group.get("members") if isinstance(group, Mapping) else None
    return len(members) if isinstance(members, list) else 0


def probe_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with its group cut to the first PROBE_MEMBERS members (for timing only)."""
    group = dict(document["group"])
    group["members"] = group["members"][:PROBE_MEMBERS]
    return {**document, "group": group}


def balanced(costs: Mapping[str, float], families: Sequence[str], parts: int) -> list[list[str]]:
    """`families` dealt into at most `parts` non-empty parts of about equal cost (heaviest first,
    each to the lightest part so far; a family without a measured cost counts as free)."""
    loads = [0.0] * max(1, min(parts, len(families)))
    dealt: list[list[str]] = [[] for _ in loads]
    for family in sorted(families, key=lambda f: -costs.get(f, 0.0)):
        lightest = loads.index(min(loads))
        dealt[lightest].append(family)
        loads[lightest] += costs.get(family, 0.0)
    return [sorted(part, key=families.index) for part in dealt if part]


def merged(parts: Sequence[RawResult]) -> RawResult:
    """The parts' family entries as one result, in the order one query returns them (by rule id)."""
    entries: dict[str, dict[str, list[Any]]] = {}
    for part in parts:
        for family, levels in part.items():
            if family in entries:
                raise ValueError(f"rule family {family} was evaluated in two parts")
            entries[family] = levels
    return {family: entries[family] for family in sorted(entries)}
