from __future__ import annotations

from checker import waivers
from checker.models import Finding, Location, Waiver

LOC = Location("inv/w.yaml", 2)
OWNERS = {"g1": "olga", "g2": "olga"}


def finding(rule: str = "owner-location", group: str = "g1", person: str | None = None,
            level: str = "deny") -> Finding:
    return Finding(rule, level, group, person, "msg", Location("inv/g.yaml", 1))


def waiver(wid: str = "w1", rule: str = "owner-location", group: str = "g1", person: str | None = None,
           expires: str = "2027-01-31") -> Waiver:
    return Waiver(wid, rule, group, person, "reason", "ana", expires, LOC)


def by_rule(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.rule, []).append(f)
    return out


def test_waiver_in_force_suppresses_its_finding_only() -> None:
    result = waivers.apply([finding(), finding(group="g2")], {"w1": waiver()}, "2026-11-29", OWNERS)
    assert [(f.group, f.waived, f.waiver) for f in result] == [("g1", True, "w1"), ("g2", False, None)]


def test_waiver_holds_through_its_expiry_day() -> None:
    (on_the_day,) = waivers.apply([finding()], {"w1": waiver(expires="2026-11-29")}, "2026-11-29", OWNERS)
    assert on_the_day.waived
    result = waivers.apply([finding()], {"w1": waiver(expires="2026-11-28")}, "2026-11-29", OWNERS)
    rules = by_rule(result)
    assert not rules["owner-location"][0].waived
    (expired,) = rules["waiver-expired"]
    assert (expired.level, expired.group, expired.person, expired.waiver, expired.waived) == (
        "warn", "g1", None, "w1", False)
    assert expired.location == LOC


def test_person_waiver_only_suppresses_that_persons_finding() -> None:
    findings = [finding("member-location", person="a"), finding("member-location", person="b")]
    result = waivers.apply(findings, {"w1": waiver(rule="member-location", person="a")}, "2026-11-29", OWNERS)
    assert [(f.person, f.waived) for f in result] == [("a", True), ("b", False)]


def test_unused_waiver() -> None:
    result = by_rule(waivers.apply([finding(group="g2")], {"w1": waiver()}, "2026-11-29", OWNERS))
    (unused,) = result["waiver-unused"]
    assert (unused.group, unused.waiver, unused.level) == ("g1", "w1", "warn")
    assert "waiver-expired" not in result


def test_waiver_findings_have_distinct_identities() -> None:
    result = waivers.apply([], {"w1": waiver("w1"), "w2": waiver("w2")}, "2026-11-29", OWNERS)
    assert len({f.identity for f in result}) == 2


def test_waivers_never_suppress_waiver_findings() -> None:
    ws = {"w1": waiver("w1", expires="2020-01-01"), "w2": waiver("w2", rule="waiver-expired")}
    result = waivers.apply([], ws, "2026-11-29", OWNERS)
    assert not any(f.waived for f in result)


def test_two_waivers_matching_one_finding_are_both_used() -> None:
    result = waivers.apply([finding()], {"w1": waiver("w1"), "w2": waiver("w2")}, "2026-11-29", OWNERS)
    assert [(f.rule, f.waiver) for f in result] == [("owner-location", "w1")]  # no waiver-unused


def test_self_approved_waivers_suppress_nothing_and_are_denied() -> None:
    by_owner = Waiver("w1", "owner-location", "g1", None, "r", "olga", "2027-01-31", LOC)
    by_the_person = Waiver("w2", "member-location", "g2", "a", "r", "a", "2027-01-31", LOC)
    expired_and_selfish = Waiver("w3", "owner-location", "g2", None, "r", "olga", "2020-01-31", LOC)
    findings = [finding(), finding("member-location", group="g2", person="a")]
    result = waivers.apply(findings, {"w1": by_owner, "w2": by_the_person, "w3": expired_and_selfish},
                           "2026-11-29", OWNERS)
    rules = by_rule(result)
    assert not any(f.waived for f in result)
    assert sorted((f.waiver, f.level, f.waived) for f in rules["waiver-self-approved"]) == [
        ("w1", "deny", False), ("w2", "deny", False), ("w3", "deny", False)]
    assert "waiver-unused" not in rules  # not also unused
    assert [f.waiver for f in rules["waiver-expired"]] == ["w3"]
    assert len({f.identity for f in result}) == len(result)


def test_how_a_change_touched_a_waiver() -> None:
    base = waiver(person="a", expires="2027-01-31")
    assert waivers.change_of(None, base, OWNERS) == "added"
    assert waivers.change_of(base, waiver(rule="member-location", person="a"), OWNERS) == "added"
    assert waivers.change_of(base, waiver(person="a", expires="2027-02-01"), OWNERS) == "extended"
    assert waivers.change_of(base, waiver(person=None), OWNERS) == "extended"
    assert waivers.change_of(base, waiver(person="b"), OWNERS) == "extended"
    assert waivers.change_of(base, waiver(person="a", expires="2026-12-31"), OWNERS) is None  # narrowed
    assert waivers.change_of(base, base, OWNERS) is None
    selfish = Waiver("w1", "owner-location", "g1", "a", "r", "olga", "2027-01-31", LOC)
    assert waivers.change_of(selfish, base, OWNERS) == "extended"  # an approval that now counts
