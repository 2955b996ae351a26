"""Which inventory group and person each platform group and account is (SPEC §8 Matching, pure)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from checker.models import Group, Inventory
from checker.observed.identity import canonical_platform
from checker.snapshot import Snapshot, SnapshotGroup, SnapshotPerson


@dataclass(frozen=True)
class Matching:
    """One snapshot against one inventory."""

    snapshot: Snapshot
    file: str  # the snapshot's path as shown in findings
    covered: tuple[str, ...]  # inventory groups of the snapshot's platform, by id
    groups: dict[str, str]  # platform external_id -> inventory group id
    people: dict[str, str]  # account -> inventory person id (accounts that match nobody are absent)

    @property
    def platform(self) -> str:
        return self.snapshot.platform

    @functools.cached_property
    def people_by_account(self) -> dict[str, SnapshotPerson]:
        return self.snapshot.person_by_account()

    @functools.cached_property
    def ids(self) -> dict[str, str]:
        """account -> person_id(account), for every account the snapshot names (one lookup in hot loops)."""
        platform, people = self.platform, self.people
        return {p.account: people.get(p.account) or unknown_id(platform, p.account) for p in self.snapshot.people}

    def person_id(self, account: str) -> str:
        """The inventory person of an account, or the SPEC §8 id of an unknown one."""
        return self.ids.get(account) or self.people.get(account) or unknown_id(self.platform, account)

    def unmanaged(self) -> list[SnapshotGroup]:
        return [g for g in self.snapshot.groups if g.external_id not in self.groups]


def unknown_id(platform: str, account: str) -> str:
    return f"{platform}:{account}"


def covered_groups(inv: Inventory, platform: str) -> list[Group]:
    return [g for g in inv.groups.values() if canonical_platform(g.fields["platform"]) == platform]


def match(inv: Inventory, snapshot: Snapshot, file: str) -> Matching:
    platform = snapshot.platform
    covered = covered_groups(inv, platform)
    by_external = {g.external_id: g.id for g in covered if g.external_id is not None}
    groups = {g.external_id: by_external[g.external_id] for g in snapshot.groups if g.external_id in by_external}
    by_account: dict[str, str] = {}
    by_email: dict[str, str] = {}
    for person in inv.people.values():
        for name, account in person.accounts.items():
            if canonical_platform(name) == platform:
                by_account[account] = person.id
        if person.email is not None:
            by_email[person.email.casefold()] = person.id
    people: dict[str, str] = {}
    for observed in snapshot.people:
        pid = by_account.get(observed.account)
        if pid is None and observed.email is not None:
            pid = by_email.get(observed.email.casefold())
        if pid is not None:
            people[observed.account] = pid
    return Matching(snapshot, file, tuple(sorted(g.id for g in covered)), groups, people)
