"""The seven drift rules of SPEC §8: every difference between a snapshot and the inventory,
named as an ordinary finding (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checker.models import Finding, Group, Inventory, Location, RuleInfo
from checker.observed.match import Matching

_FILE = "checker/observed/drift.py"
# rule id -> (level, title, remediation)
DRIFT_RULES: Mapping[str, tuple[str, str, str]] = {
    "drift-unreviewed-member": (
        "deny", "Member on the platform that the inventory does not list",
        "Add the member to the group's file through review (checker import), or remove them on the platform."),
    "drift-unknown-account": (
        "deny", "Account on the platform that matches no inventory person",
        "Declare the person (with accounts.<platform> or email), or remove the account from the group."),
    "drift-owner": (
        "deny", "Platform owner differs from the inventory owner",
        "Change the owner in the inventory through review, or hand ownership back on the platform."),
    "drift-person-attribute": (
        "deny", "Platform disagrees with the inventory about a person",
        "Correct the person's record (location, employment, status), or the platform's directory."),
    "drift-stale-member": (
        "warn", "Inventory member not in the platform group",
        "Remove the member from the group's file, or add them on the platform."),
    "drift-unmanaged-group": (
        "warn", "Platform group with no inventory counterpart",
        "Declare the group (checker import writes it) with its data classes, or archive it."),
    "drift-missing-group": (
        "warn", "Inventory group that the platform does not hold",
        "Fix its external_id, or remove the group from the inventory."),
}


def drift_rule_infos() -> dict[str, RuleInfo]:
    return {rule: RuleInfo(rule, "checker.drift", _FILE, (level,), title, title, remediation,
                           "high" if level == "deny" else "medium")
            for rule, (level, title, remediation) in DRIFT_RULES.items()}


def _finding(rule: str, group: str, person: str | None, message: str, location: Location) -> Finding:
    return Finding(rule, DRIFT_RULES[rule][0], group, person, message, location)


def drift(inv: Inventory, matchings: Sequence[Matching]) -> list[Finding]:
    """Every drift finding of these snapshots (one per platform) against the declared inventory."""
    found: list[Finding] = []
    for matching in matchings:
        found += _group_drift(inv, matching)
    found += _person_drift(inv, matchings)
    return found


def _line(group: Group, key: str) -> Location:
    return Location(group.location.file, group.field_lines.get(key) or group.location.line)


def _group_drift(inv: Inventory, matching: Matching) -> list[Finding]:
    found: list[Finding] = []
    platform = matching.platform
    held = {g.external_id for g in matching.snapshot.groups}
    for gid in matching.covered:
        group = inv.groups[gid]
        if group.external_id is not None and group.external_id not in held:
            found.append(_finding("drift-missing-group", gid, None,
                                  f"group {gid}: {platform} holds no group {group.external_id!r} "
                                  f"(snapshot {matching.file} of {matching.snapshot.taken_at})",
                                  _line(group, "external_id")))
    for platform_group in matching.snapshot.groups:
        matched = matching.groups.get(platform_group.external_id)
        if matched is None:
            count = len(set(platform_group.members) | ({platform_group.owner} - {None}))
            found.append(_finding("drift-unmanaged-group", f"{platform}:{platform_group.external_id}", None,
                                  f"{platform} group {platform_group.name!r} ({platform_group.external_id}, "
                                  f"{count} members) has no inventory counterpart",
                                  Location(matching.file, 0)))
            continue
        gid = matched
        group = inv.groups[gid]
        declared = set(group.members)
        observed_owner = matching.person_id(platform_group.owner) if platform_group.owner is not None else None
        observed: dict[str, str] = {}  # person id -> account
        owner_accounts: list[str] = [platform_group.owner] if platform_group.owner is not None else []
        ids = matching.ids
        for account in (*owner_accounts, *platform_group.members):
            observed.setdefault(ids[account], account)
        if observed_owner is not None and observed_owner != group.owner:
            found.append(_finding("drift-owner", gid, observed_owner,
                                  f"group {gid}: {platform} owner is {observed_owner}, the inventory says "
                                  f"{group.owner}", _line(group, "owner")))
        for pid, account in observed.items():
            if pid in declared:
                continue
            if account in matching.people:
                found.append(_finding("drift-unreviewed-member", gid, pid,
                                      f"group {gid}: {pid} is a member on {platform} but not in the inventory",
                                      _line(group, "members")))
            else:
                found.append(_finding("drift-unknown-account", gid, pid,
                                      f"group {gid}: {platform} account {account} ({_describe(matching, account)}) "
                                      "matches no inventory person", _line(group, "members")))
        if observed_owner is None:  # the platform named no owner: the declared one is not stale for it
            observed.setdefault(group.owner, "")
        for pid in group.members:
            if pid not in observed:
                found.append(_finding("drift-stale-member", gid, pid,
                                      f"group {gid}: {pid} is listed in the inventory but not a member on "
                                      f"{platform}", Location(group.location.file,
                                                              group.member_lines.get(pid) or group.location.line)))
    return found


def _describe(matching: Matching, account: str) -> str:
    person = matching.people_by_account.get(account)
    if person is None:
        return "not in the snapshot's people"
    return person.email or person.name or "no email"


def _person_drift(inv: Inventory, matchings: Sequence[Matching]) -> list[Finding]:
    """Once per person, over every snapshot: each field the platforms give that differs."""
    differences: dict[str, list[str]] = {}
    for matching in matchings:
        for observed in matching.snapshot.people:
            pid = matching.people.get(observed.account)
            if pid is None:
                continue
            record = inv.people[pid].record
            for field in ("location", "employment", "status"):
                value = getattr(observed, field)
                if value is not None and value != record.get(field):
                    differences.setdefault(pid, []).append(
                        f"{field} is {value} on {matching.platform}, {record.get(field)} in the inventory")
    found = []
    for pid, notes in differences.items():
        person = inv.people[pid]
        found.append(_finding("drift-person-attribute", "", pid, f"person {pid}: " + "; ".join(notes),
                              person.location))
    return found
