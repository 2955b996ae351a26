"""Apply waivers to findings (SPEC §5). Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from checker.models import Finding, Inventory, Waiver


def in_force(waiver: Waiver, as_of: str) -> bool:
    return as_of <= waiver.expires  # ISO dates compare as text


def matches(waiver: Waiver, finding: Finding) -> bool:
    return (waiver.rule == finding.rule and waiver.group == finding.group
            and (waiver.person is None or waiver.person == finding.person))


def owners_of(inv: Inventory) -> dict[str, str]:
    """group id -> owner id: what separation of duties checks a waiver's approver against."""
    return {gid: group.owner for gid, group in inv.groups.items()}


def self_approved(waiver: Waiver, owners: Mapping[str, str]) -> bool:
    """Approved by the owner of its group or by the person it names (SPEC §5: separation of duties)."""
    return waiver.approved_by in (owners.get(waiver.group), waiver.person)


def apply(findings: Iterable[Finding], waivers: Mapping[str, Waiver], as_of: str, owners: Mapping[str, str],
          undecided: Callable[[Waiver], bool] | None = None) -> list[Finding]:
    """Mark waived findings and add waiver-expired / waiver-unused / waiver-self-approved; never waive those.

    A self-approved waiver suppresses nothing and is reported as such (deny), not also as unused.
    `undecided`: waivers whose findings were not all evaluated (diff leaves out groups the change
    cannot affect), for which "unused" cannot be told and is not reported.
    """
    effective = {w.id for w in waivers.values() if in_force(w, as_of) and not self_approved(w, owners)}
    by_target: dict[tuple[str, str], list[Waiver]] = {}  # (rule, group) -> waivers that apply, by id
    for waiver in sorted(waivers.values(), key=lambda w: w.id):
        if waiver.id in effective:
            by_target.setdefault((waiver.rule, waiver.group), []).append(waiver)
    used: set[str] = set()
    result = []
    for finding in findings:
        matching = [w for w in by_target.get((finding.rule, finding.group or ""), ()) if matches(w, finding)]
        if matching:
            used.update(w.id for w in matching)  # every waiver that matches is used (SPEC §5)
            finding = finding.with_(waived=True, waiver=matching[0].id)  # reported: the lowest id
        result.append(finding)
    for waiver in sorted(waivers.values(), key=lambda w: w.id):
        if self_approved(waiver, owners):
            whom = "the person it names" if waiver.approved_by == waiver.person else f"{waiver.group}'s owner"
            result.append(Finding("waiver-self-approved", "deny", waiver.group, None,
                                  f"waiver {waiver.id} for {waiver.rule} on {waiver.group} is approved by "
                                  f"{waiver.approved_by}, {whom}; it suppresses nothing — have someone else "
                                  "approve it", waiver.location, waiver=waiver.id))
        if not in_force(waiver, as_of):
            result.append(Finding("waiver-expired", "warn", waiver.group, None,
                                  f"waiver {waiver.id} for {waiver.rule} on {waiver.group} expired on "
                                  f"{waiver.expires}; it suppresses nothing — renew or remove it",
                                  waiver.location, waiver=waiver.id))
        elif waiver.id in effective and waiver.id not in used and not (undecided and undecided(waiver)):
            who = f" and {waiver.person}" if waiver.person else ""
            result.append(Finding("waiver-unused", "warn", waiver.group, None,
                                  f"waiver {waiver.id} matches no {waiver.rule} finding for {waiver.group}{who}; "
                                  "remove it", waiver.location, waiver=waiver.id))
    return sorted(result, key=lambda f: f.sort_key)


def granted_by_change(finding: Finding, base: Inventory, head: Inventory, as_of: str,
                      owners: tuple[Mapping[str, str], Mapping[str, str]] | None = None) -> tuple[str, str] | None:
    """For a finding a change introduces or worsens and head waivers suppress: (the waiver, "added" or
    "extended") when only waivers the change added or extended suppress it, else None (a waiver the
    change left as it was, or narrowed, suppresses it as usual). SPEC §5: a change cannot grant itself
    an exception. `owners`: owners_of(base) and owners_of(head), when the caller asks for many findings.
    """
    base_owners, head_owners = owners if owners is not None else (owners_of(base), owners_of(head))
    matching = sorted((w for w in head.waivers.values()
                       if in_force(w, as_of) and not self_approved(w, head_owners) and matches(w, finding)),
                      key=lambda w: w.id)
    if not matching:
        return None
    changes = [change_of(base.waivers.get(w.id), w, base_owners) for w in matching]
    if None in changes:
        return None
    return matching[0].id, str(changes[0])


def change_of(old: Waiver | None, new: Waiver, base_owners: Mapping[str, str]) -> str | None:
    """How a change touched a waiver: "added" (new, or aimed at another rule or group), "extended"
    (a later expiry, a person dropped or swapped, or an approval that now counts), or None."""
    if old is None or (old.rule, old.group) != (new.rule, new.group):
        return "added"
    if new.expires > old.expires or (old.person is not None and new.person != old.person):
        return "extended"
    if self_approved(old, base_owners):
        return "extended"  # suppressed nothing before the change
    return None
