"""The inventory as the platforms hold it (SPEC §8 Audit on observed state, pure).

Matched groups take the platform's owner and members; their declared data classes,
jurisdictions and kind stay. Accounts that match nobody become people with the attributes the
snapshot gives (null where unknown), so every policy treats them as failing its condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from checker.models import Group, Inventory, Location, Person
from checker.observed.match import Matching


def unknown_person(matching: Matching, account: str) -> Person:
    observed = matching.people_by_account.get(account)
    pid = matching.person_id(account)
    record: dict[str, Any] = {"id": pid}
    if observed is not None and observed.name is not None:
        record["name"] = observed.name
    record.update(location=observed.location if observed else None,
                  employment=observed.employment if observed else None,
                  status=observed.status if observed else None, trainings={})
    return Person(pid, record, Location(matching.file, 0))


def observed_inventory(inv: Inventory, matchings: Sequence[Matching]) -> Inventory:
    people = dict(inv.people)
    groups = dict(inv.groups)
    for matching in matchings:
        for platform_group in matching.snapshot.groups:
            gid = matching.groups.get(platform_group.external_id)
            if gid is None:
                continue
            declared = inv.groups[gid]
            accounts = list(platform_group.members)
            owner = declared.owner
            if platform_group.owner is not None:
                owner = matching.person_id(platform_group.owner)
                if platform_group.owner not in accounts:
                    accounts.insert(0, platform_group.owner)
            members: list[str] = []
            seen: set[str] = set()
            ids = matching.ids  # a valid snapshot names no account outside its people
            for account in accounts:
                pid = ids[account]
                if pid not in people:
                    people[pid] = unknown_person(matching, account)
                if pid not in seen:
                    seen.add(pid)
                    members.append(pid)
            if owner not in seen:  # the platform named no owner: the declared one stays, and is a member
                members.insert(0, owner)
            groups[gid] = _observed_group(declared, owner, members)
    return Inventory(people, groups, inv.waivers, inv.files)


def _observed_group(declared: Group, owner: str, members: list[str]) -> Group:
    present = set(members)
    member_lines = {m: line for m, line in declared.member_lines.items() if m in present}
    if owner != declared.owner and "owner" in declared.field_lines:
        member_lines[owner] = declared.field_lines["owner"]
    return replace(declared, owner=owner, members=tuple(members), member_lines=member_lines)
