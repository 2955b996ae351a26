"""Apply waivers to findings (SPEC §5). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from checker.models import Finding, Waiver


def in_force(waiver: Waiver, as_of: str) -> bool:
    return as_of <= waiver.expires  # ISO dates compare as text


def matches(waiver: Waiver, finding: Finding) -> bool:
    return (waiver.rule == finding.rule and waiver.group == finding.group
            and (waiver.person is None or waiver.person == finding.person))


def apply(findings: Iterable[Finding], waivers: Mapping[str, Waiver], as_of: str) -> list[Finding]:
    """Mark waived findings and add waiver-expired / waiver-unused; never waive those two."""
    by_target: dict[tuple[str, str], list[Waiver]] = {}  # (rule, group) -> waivers in force, by id
    for waiver in sorted(waivers.values(), key=lambda w: w.id):
        if in_force(waiver, as_of):
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
        if not in_force(waiver, as_of):
            result.append(Finding("waiver-expired", "warn", waiver.group, None,
                                  f"waiver {waiver.id} for {waiver.rule} on {waiver.group} expired on "
                                  f"{waiver.expires}; it suppresses nothing — renew or remove it",
                                  waiver.location, waiver=waiver.id))
        elif waiver.id not in used:
            who = f" and {waiver.person}" if waiver.person else ""
            result.append(Finding("waiver-unused", "warn", waiver.group, None,
                                  f"waiver {waiver.id} matches no {waiver.rule} finding for {waiver.group}{who}; "
                                  "remove it", waiver.location, waiver=waiver.id))
    return sorted(result, key=lambda f: f.sort_key)
