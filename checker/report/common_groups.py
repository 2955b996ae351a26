"""Inventory facts the audit report shows besides findings, as JSON-ready `RunResult.meta` values (pure).

A RunResult carries findings, not the inventory. The audit command puts these into meta so the HTML
report can chart groups and waivers without reading files:

    meta["groups"] = group_summaries(inventory, policy_set.data)
    meta["waivers"] = waiver_summaries(inventory)

meta["groups"]: one entry per group, sorted by id:
    {"id": str, "platform": str, "kind": str, "owner": str, "owner_location": str | None,
     "members": int,                     # the owner included, each member once
     "data_classes": [str], "sensitive_classes": [str],   # sensitive: `sensitive: true` in data.data_classes
     "sensitive": bool,
     "max_members": int | None,          # the smallest max_members of its data classes (SPEC §4), if any
     "subject_jurisdictions": [str],
     "location": {"file": str, "line": int}}      # the group's `id` line

meta["waivers"]: one entry per waiver, sorted by id:
    {"id": str, "rule": str, "group": str, "person": str | None, "expires": "YYYY-MM-DD",
     "approved_by": str, "reason": str, "location": {"file": str, "line": int}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.models import Group, Inventory, Location


def location_dict(location: Location) -> dict[str, Any]:
    return {"file": location.file, "line": location.line}


def _class_specs(policy_data: Mapping[str, Any]) -> Mapping[str, Any]:
    specs = policy_data.get("data_classes")
    return specs if isinstance(specs, Mapping) else {}


def group_summary(group: Group, inventory: Inventory, class_specs: Mapping[str, Any]) -> dict[str, Any]:
    specs = [class_specs.get(name) for name in group.data_classes]
    specs_found = [s for s in specs if isinstance(s, Mapping)]
    sensitive = [name for name, spec in zip(group.data_classes, specs, strict=True)
                 if isinstance(spec, Mapping) and spec.get("sensitive") is True]
    limits = [s["max_members"] for s in specs_found
              if isinstance(s.get("max_members"), int) and not isinstance(s.get("max_members"), bool)]
    owner = inventory.people.get(group.owner)
    return {
        "id": group.id,
        "platform": str(group.fields.get("platform", "")),
        "kind": str(group.fields.get("kind", "")),
        "owner": group.owner,
        "owner_location": owner.record.get("location") if owner is not None else None,
        "members": len(group.members),
        "data_classes": list(group.data_classes),
        "sensitive_classes": sensitive,
        "sensitive": bool(sensitive),
        "max_members": min(limits) if limits else None,
        "subject_jurisdictions": list(group.fields.get("subject_jurisdictions") or ()),
        "location": location_dict(group.location),
    }


def group_summaries(inventory: Inventory, policy_data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """meta["groups"] (see the module docstring)."""
    specs = _class_specs(policy_data)
    return [group_summary(inventory.groups[gid], inventory, specs) for gid in sorted(inventory.groups)]


def waiver_summaries(inventory: Inventory) -> list[dict[str, Any]]:
    """meta["waivers"] (see the module docstring)."""
    return [{"id": w.id, "rule": w.rule, "group": w.group, "person": w.person, "expires": w.expires,
             "approved_by": w.approved_by, "reason": w.reason, "location": location_dict(w.location)}
            for w in sorted(inventory.waivers.values(), key=lambda w: w.id)]
