"""Build the policy inputs of SPEC §3 (pure): one self-contained document per group, and one per
person for person-scope rule families."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from checker.models import Group, Inventory, Person


def group_input(group: Group, people: Mapping[str, Person], as_of: str) -> dict[str, Any]:
    """input = {"as_of": ..., "group": {...fields, "owner": record, "members": [records]}}."""
    body: dict[str, Any] = {"id": group.id, **group.fields}
    body["owner"] = dict(people[group.owner].record)
    body["members"] = [dict(people[m].record) for m in group.members]
    return {"as_of": as_of, "group": body}


# ---------------------------------------------------------------- person scope

# The group fields a person-scope family sees (SPEC §3), besides id, owner, member_count and role.
PERSON_VIEW_FIELDS = ("platform", "kind", "data_classes", "subject_jurisdictions")


def memberships(inv: Inventory) -> dict[str, list[str]]:
    """person id -> the ids of the groups they are in (owner included), in group id order.
    Everyone in the inventory has an entry, so people in no group are evaluated too."""
    out: dict[str, list[str]] = {pid: [] for pid in inv.people}
    for gid in sorted(inv.groups):
        for member in inv.groups[gid].members:
            out[member].append(gid)
    return out


def memberships_of(inv: Inventory, person_ids: Collection[str]) -> dict[str, list[str]]:
    """memberships(inv) for these people only: a diff that judges a few people again need not index
    everyone's groups (a set test per group, not a list append per membership)."""
    wanted = set(person_ids)
    out: dict[str, list[str]] = {pid: [] for pid in wanted if pid in inv.people}
    for gid in sorted(inv.groups):
        group = inv.groups[gid]
        if not wanted.isdisjoint(group.members):
            for member in wanted.intersection(group.members):
                out[member].append(gid)
    return out


def role(group: Group, person_id: str) -> str:
    return "owner" if group.owner == person_id else "member"


def group_view(group: Group) -> dict[str, Any]:
    """What a person-scope family sees of one group, before the person's role in it."""
    view: dict[str, Any] = {"id": group.id}
    view.update((name, group.fields[name]) for name in PERSON_VIEW_FIELDS if name in group.fields)
    view["owner"] = group.owner
    view["member_count"] = len(group.members)
    return view


def person_input(person: Person, groups: Sequence[Group], as_of: str,
                 views: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """input = {"as_of": ..., "person": record, "groups": [{...group view, "role": ...}]}.
    `views` keeps each group's view across calls, so a group is viewed once, not once per member."""
    views = {} if views is None else views
    shown = []
    for g in groups:
        view = views.get(g.id)
        if view is None:
            view = views[g.id] = group_view(g)
        shown.append({**view, "role": role(g, person.id)})
    return {"as_of": as_of, "person": dict(person.record), "groups": shown}


def group_view_digest(group: Group) -> bytes:
    """A digest of group_view(group): equal exactly when what person families see of it is equal.
    (Not Group.content_key: a description or review change must not re-evaluate its members.)"""
    fields = group.fields
    parts = [group.id, group.owner, str(len(group.members))]
    for name in PERSON_VIEW_FIELDS:
        value = fields.get(name)
        parts.append("\x01".join(value) if isinstance(value, list | tuple) else f"\x02{value}")
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def person_keys(inv: Inventory, prefix: bytes, person_ids: Sequence[str] | None = None,
                groups_of: Mapping[str, Sequence[str]] | None = None) -> dict[str, str]:
    """person id -> a key that changes exactly when their person-scope input changes: their record,
    or the view or their role of any group they are in (prefix: policies, engine and date)."""
    groups_of = memberships(inv) if groups_of is None else groups_of
    ids = sorted(inv.people) if person_ids is None else person_ids
    views: dict[str, bytes] = {}
    keys = {}
    for pid in ids:
        h = hashlib.sha256(prefix)
        h.update(inv.people[pid].content_key)
        for gid in groups_of[pid]:
            view = views.get(gid)
            if view is None:
                view = views[gid] = group_view_digest(inv.groups[gid])
            h.update(view)
            h.update(b"o" if inv.groups[gid].owner == pid else b"m")
        keys[pid] = h.hexdigest()
    return keys
