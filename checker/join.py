"""Build the policy input of SPEC §3: one self-contained document per group (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.models import Group, Person


def group_input(group: Group, people: Mapping[str, Person], as_of: str) -> dict[str, Any]:
    """input = {"as_of": ..., "group": {...fields, "owner": record, "members": [records]}}."""
    body: dict[str, Any] = {"id": group.id, **group.fields}
    body["owner"] = dict(people[group.owner].record)
    body["members"] = [dict(people[m].record) for m in group.members]
    return {"as_of": as_of, "group": body}
