"""Sanity tests of testing.oracle (the independent reading of SPEC §4-5), testing.orggen and
the example organisation in inventories/.

The oracle is what the checker is compared against, so its own behaviour is pinned here on
small hand-written inventories, one rule at a time, each with a case that must fire and a
close case that must not.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pycountry  # a runtime dependency of checker, so always installed with it
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
# `pytest` (unlike `python -m pytest`) does not put the repository root on sys.path.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from testing.oracle import (  # noqa: E402
    DEFAULT_POLICY_DATA,
    POLICY_RULES,
    count_by_rule,
    expected_findings,
    load_policy_data,
)
from testing.orggen import build_org, generate_org  # noqa: E402

AS_OF = "2026-11-29"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
POLICY = load_policy_data(REPO / "policies" / "data.yaml")

Person = dict[str, Any]


# ---------------------------------------------------------------- helpers


def person(pid: str, location: str = "US", employment: str = "employee", **extra: Any) -> Person:
    """A compliant person unless told otherwise: trained a month before AS_OF."""
    record: Person = {"id": pid, "location": location, "employment": employment}
    record["trainings"] = {"privacy": dt.date(2026, 10, 29)}
    record.update(extra)
    return record


def group(gid: str, owner: str, members: list[str], **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": gid, "platform": "lark", "kind": "case-queue", "owner": owner}
    record["members"] = members
    record.update(extra)
    return record


def write_inventory(
    root: Path,
    people: list[Person],
    groups: list[dict[str, Any]],
    waivers: list[dict[str, Any]] | None = None,
) -> Path:
    """Split across files like a real inventory, to exercise the recursive merge."""
    (root / "people").mkdir(parents=True)
    (root / "groups" / "lark").mkdir(parents=True)
    (root / "people" / "all.yaml").write_text(yaml.safe_dump({"people": people}), encoding="utf-8")
    (root / "groups" / "lark" / "all.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    if waivers is not None:
        (root / "waivers.yaml").write_text(yaml.safe_dump({"waivers": waivers}), encoding="utf-8")
    return root


def findings_for(tmp_path: Path, people: list[Person], groups: list[dict[str, Any]], **kw: Any) -> list[dict]:
    as_of = kw.pop("as_of", AS_OF)
    return expected_findings(write_inventory(tmp_path / "inv", people, groups, **kw), POLICY, as_of)


def keys(findings: list[dict]) -> set[tuple[str, str, str | None]]:
    return {(f["rule"], f["group"], f["person"]) for f in findings}


def sensitive_group(gid: str, owner: str, members: list[str], **extra: Any) -> dict[str, Any]:
    """Compliant unless told otherwise: its access was reviewed a month before AS_OF."""
    base: dict[str, Any] = {"data_classes": ["user_pii"], "subject_jurisdictions": ["US"],
                            "reviewed": {"on": dt.date(2026, 10, 29), "by": owner}}
    return group(gid, owner, members, **{**base, **extra})


# ---------------------------------------------------------------- policy data


def test_shipped_policy_data_keeps_the_spec_values() -> None:
    # SPEC §4: "policies may add keys; these must stay".
    for top, value in DEFAULT_POLICY_DATA.items():
        if isinstance(value, dict):
            for key, spec in value.items():
                assert {k: POLICY[top][key][k] for k in spec} == spec, (top, key)
        else:
            assert POLICY[top] == value


# ---------------------------------------------------------------- one rule at a time


def test_compliant_group_has_no_findings(tmp_path: Path) -> None:
    people = [person("a"), person("b")]
    assert findings_for(tmp_path, people, [sensitive_group("g", "a", ["a", "b"])]) == []


def test_owner_location(tmp_path: Path) -> None:
    people = [person("us"), person("cn", "CN")]
    groups = [sensitive_group("bad", "cn", ["us"]), sensitive_group("good", "us", ["us"])]
    assert keys(findings_for(tmp_path, people, groups)) == {("owner-location", "bad", None)}


def test_approved_locations_are_an_intersection(tmp_path: Path) -> None:
    # US and EU approve no common location, so even a US owner is out of place.
    people = [person("us")]
    groups = [sensitive_group("g", "us", [], subject_jurisdictions=["US", "EU"])]
    assert keys(findings_for(tmp_path, people, groups)) == {("owner-location", "g", None)}


def test_member_location_names_the_member_and_skips_the_owner(tmp_path: Path) -> None:
    people = [person("us"), person("cn", "CN"), person("sg", "SG"), person("ie", "IE")]
    groups = [
        sensitive_group("us-data", "us", ["us", "cn", "sg"]),
        # GB approves GB and IE staff.
        sensitive_group("gb-data", "ie", ["ie", "cn"], subject_jurisdictions=["GB"]),
        # A CN owner is an owner-location finding, never a member-location one.
        sensitive_group("cn-owned", "cn", ["cn", "us"]),
    ]
    assert keys(findings_for(tmp_path, people, groups)) == {
        ("member-location", "us-data", "cn"),
        ("member-location", "us-data", "sg"),
        ("member-location", "gb-data", "cn"),
        ("owner-location", "cn-owned", None),
    }


def test_location_rules_need_sensitive_data(tmp_path: Path) -> None:
    people = [person("cn", "CN"), person("sg", "SG")]
    groups = [group("g", "cn", ["sg"], data_classes=["internal", "public"], subject_jurisdictions=["US"])]
    assert findings_for(tmp_path, people, groups) == []


def test_subject_jurisdiction_missing_replaces_the_location_rules(tmp_path: Path) -> None:
    people = [person("cn", "CN"), person("sg", "SG")]
    groups = [
        group("sensitive", "cn", ["sg"], data_classes=["financial"]),
        group("empty-list", "cn", ["sg"], data_classes=["user_pii"], subject_jurisdictions=[]),
        group("plain", "cn", ["sg"], data_classes=["internal"]),
        group("no-classes", "cn", ["sg"]),
    ]
    assert {k for k in keys(findings_for(tmp_path, people, groups)) if k[0] != "access-review-overdue"} == {
        ("subject-jurisdiction-missing", "sensitive", None),
        ("subject-jurisdiction-missing", "empty-list", None),
    }


def test_sensitive_group_size_uses_the_smallest_limit_and_counts_the_owner(tmp_path: Path) -> None:
    people = [person(f"p{i}") for i in range(60)]
    ids = [p["id"] for p in people]
    gov = {"data_classes": ["user_pii", "government_id"]}
    groups = [
        sensitive_group("at-limit", "p0", ids[:50], **gov),  # 50 members, limit 50
        sensitive_group("over-limit", "p0", ids[:51], **gov),  # 51 members
        # 50 listed, owner p59 unlisted: 51 members.
        sensitive_group("owner-unlisted", "p59", ids[:50], **gov),
        # The owner listed twice and as owner is still one member: 50.
        sensitive_group("owner-twice", "p0", [*ids[:50], "p0"], **gov),
        sensitive_group("pii-only", "p0", ids[:60]),  # limit 200
    ]
    assert keys(findings_for(tmp_path, people, groups)) == {
        ("sensitive-group-size", "over-limit", None),
        ("sensitive-group-size", "owner-unlisted", None),
    }


def test_non_employee_access_includes_the_owner(tmp_path: Path) -> None:
    people = [person("emp"), person("con", employment="contractor"), person("ven", employment="vendor")]
    groups = [
        sensitive_group("bio", "con", ["emp", "ven"], data_classes=["biometric"]),
        # user_pii is not employees_only.
        sensitive_group("pii", "con", ["emp", "ven"]),
    ]
    assert keys(findings_for(tmp_path, people, groups)) == {
        ("non-employee-access", "bio", "con"),
        ("non-employee-access", "bio", "ven"),
    }


@pytest.mark.parametrize(
    ("kind", "fires"),
    [
        ("chat", True),
        ("channel", True),
        ("mailing-list", True),
        ("document-space", False),
        ("case-queue", False),
    ],
)
def test_minor_safety_in_chat(tmp_path: Path, kind: str, fires: bool) -> None:
    people = [person("a")]
    groups = [sensitive_group("g", "a", [], kind=kind, data_classes=["minor_safety"])]
    expected = {("minor-safety-in-chat", "g", None)} if fires else set()
    assert keys(findings_for(tmp_path, people, groups)) == expected


def test_departed_owner_only_for_sensitive_groups(tmp_path: Path) -> None:
    people = [person("gone", status="departed"), person("here", status="active"), person("m")]
    groups = [
        sensitive_group("sensitive", "gone", ["m"]),
        group("plain", "gone", ["m"], data_classes=["internal"]),
        sensitive_group("active-owner", "here", ["gone"]),  # a departed member is not this rule
    ]
    assert keys(findings_for(tmp_path, people, groups)) - {("departed-member", "active-owner", "gone")} == {
        ("departed-owner", "sensitive", None)
    }


def test_training_expired_boundaries(tmp_path: Path) -> None:
    as_of = dt.date(2026, 11, 29)
    people = [
        person("exactly-365", trainings={"privacy": as_of - dt.timedelta(days=365)}),
        person("day-366", trainings={"privacy": as_of - dt.timedelta(days=366)}),
        # A quoted date string must be read like a YAML date.
        person("string-366", trainings={"privacy": (as_of - dt.timedelta(days=366)).isoformat()}),
        person("missing", trainings={}),
        {"id": "no-trainings", "location": "US", "employment": "employee"},
        person("future", trainings={"privacy": as_of + dt.timedelta(days=3)}),
    ]
    ids = [p["id"] for p in people]
    groups = [
        sensitive_group("sensitive", "exactly-365", ids[1:]),
        group("plain", "day-366", ["missing"], data_classes=["public"]),
    ]
    assert keys(findings_for(tmp_path, people, groups)) == {
        ("training-expired", "sensitive", "day-366"),
        ("training-expired", "sensitive", "string-366"),
        ("training-expired", "sensitive", "missing"),
        ("training-expired", "sensitive", "no-trainings"),
        ("training-expired", "sensitive", "future"),  # a date after as_of is not on record (SPEC §4)
    }
    measures = {f["person"]: f["measure"] for f in findings_for(tmp_path / "measures", people, groups)}
    assert measures == {"day-366": 1, "string-366": 1, "missing": None, "no-trainings": None, "future": None}
    levels = {f["level"] for f in findings_for(tmp_path / "again", people, groups)}
    assert levels == {"warn"}


def test_training_expired_covers_an_unlisted_owner(tmp_path: Path) -> None:
    people = [person("owner", trainings={"privacy": dt.date(2024, 1, 1)}), person("m")]
    groups = [sensitive_group("g", "owner", ["m"])]
    assert keys(findings_for(tmp_path, people, groups)) == {("training-expired", "g", "owner")}


def test_policy_data_drives_the_rules(tmp_path: Path) -> None:
    # The oracle reads limits from policy data rather than hard-coding them.
    people = [person(f"p{i}") for i in range(4)]
    policy = {**DEFAULT_POLICY_DATA, "data_classes": {**DEFAULT_POLICY_DATA["data_classes"]}}
    policy["data_classes"]["user_pii"] = {"sensitive": True, "max_members": 3}
    root = write_inventory(tmp_path / "inv", people, [sensitive_group("g", "p0", ["p1", "p2", "p3"])])
    assert keys(expected_findings(root, policy, AS_OF)) == {("sensitive-group-size", "g", None)}


def test_finding_shape(tmp_path: Path) -> None:
    people = [person("cn", "CN")]
    [only] = findings_for(tmp_path, people, [sensitive_group("g", "cn", [])])
    assert only == {
        "rule": "owner-location",
        "level": "deny",
        "group": "g",
        "person": None,
        "waived": False,
        "waiver": None,
        "measure": None,
    }


def test_departed_member_deny_with_sensitive_data_warn_without(tmp_path: Path) -> None:
    people = [person("gone", status="departed"), person("here"), person("m")]
    groups = [
        sensitive_group("sensitive", "here", ["gone", "m"]),
        group("plain", "here", ["gone"], data_classes=["internal"]),
        group("no-classes", "here", ["m", "gone"]),
        sensitive_group("owned-by-gone", "gone", ["m"]),  # the owner is departed-owner's, not this rule's
    ]
    found = {(f["rule"], f["level"], f["group"], f["person"]) for f in findings_for(tmp_path, people, groups)}
    assert found == {
        ("departed-member", "deny", "sensitive", "gone"),
        ("departed-member", "warn", "plain", "gone"),
        ("departed-member", "warn", "no-classes", "gone"),
        ("departed-owner", "deny", "owned-by-gone", None),
    }


def test_access_review_overdue_boundaries(tmp_path: Path) -> None:
    as_of = dt.date(2026, 11, 29)
    people = [person("o")]

    def reviewed(gid: str, days_before: int | None, classes: list[str]) -> dict[str, Any]:
        extra: dict[str, Any] = {"data_classes": classes}
        if days_before is not None:
            extra["reviewed"] = {"on": as_of - dt.timedelta(days=days_before), "by": "o"}
        g = sensitive_group(gid, "o", ["o"], **extra)
        if days_before is None:
            del g["reviewed"]
        return g

    groups = [
        reviewed("pii-180", 180, ["user_pii"]),  # the top-level 180 days: on the limit
        reviewed("pii-181", 181, ["user_pii"]),
        reviewed("gov-90", 90, ["government_id"]),  # the class's own 90 days
        reviewed("gov-91", 91, ["government_id", "user_pii"]),  # the smallest limit of the classes
        reviewed("never", None, ["financial"]),
        reviewed("future", -1, ["financial"]),  # after as_of: not on record
        group("plain", "o", ["o"], data_classes=["internal"]),  # no sensitive data, no review needed
    ]
    found = {f["group"]: f["measure"] for f in findings_for(tmp_path, people, groups)
             if f["rule"] == "access-review-overdue"}
    assert found == {"pii-181": 1, "gov-91": 1, "never": None, "future": None}


def test_sensitive_reach_counts_sensitive_groups_owner_included(tmp_path: Path) -> None:
    people = [person("busy"), person("calm"), person("o")]
    # busy: owner of s0 and member of s1..s12 (13 sensitive groups); o: owner of s1..s12 (12, the limit)
    groups = [sensitive_group("s0", "busy", [])]
    groups += [sensitive_group(f"s{i}", "o", ["busy"]) for i in range(1, 13)]
    groups += [group(f"plain{i}", "o", ["busy", "calm"], data_classes=["internal"]) for i in range(5)]
    found = [f for f in findings_for(tmp_path, people, groups) if f["rule"] == "sensitive-reach"]
    assert [(f["level"], f["group"], f["person"], f["measure"]) for f in found] == [("warn", None, "busy", 13)]


# ---------------------------------------------------------------- waivers


def waiver(wid: str, rule: str, gid: str, expires: dt.date, person_id: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": wid, "rule": rule, "group": gid, "reason": "r", "approved_by": "us"}
    record["expires"] = expires
    if person_id is not None:
        record["person"] = person_id
    return record


WAIVER_PEOPLE = [person("us"), person("cn", "CN"), person("sg", "SG")]
WAIVER_GROUPS = [sensitive_group("g", "cn", ["us", "cn", "sg"])]


def by_key(findings: list[dict]) -> dict[tuple[str, str, str | None, str | None], dict]:
    return {(f["rule"], f["group"], f["person"], f["waiver"] if f["rule"].startswith("waiver-") else None): f
            for f in findings}  # fmt: skip


def test_waiver_in_force_through_its_expiry_day(tmp_path: Path) -> None:
    waivers = [waiver("w1", "owner-location", "g", dt.date(2026, 11, 29))]
    found = by_key(findings_for(tmp_path, WAIVER_PEOPLE, WAIVER_GROUPS, waivers=waivers))
    assert found[("owner-location", "g", None, None)]["waived"] is True
    assert found[("owner-location", "g", None, None)]["waiver"] == "w1"
    # Other rules in the same group are untouched, and the waiver is not reported.
    assert found[("member-location", "g", "sg", None)]["waived"] is False
    assert set(found) == {("owner-location", "g", None, None), ("member-location", "g", "sg", None)}


def test_waiver_expired_the_day_after(tmp_path: Path) -> None:
    waivers = [waiver("w1", "owner-location", "g", dt.date(2026, 11, 28))]
    found = by_key(findings_for(tmp_path, WAIVER_PEOPLE, WAIVER_GROUPS, waivers=waivers))
    assert found[("owner-location", "g", None, None)]["waived"] is False
    assert found[("waiver-expired", "g", None, "w1")] == {
        "rule": "waiver-expired",
        "level": "warn",
        "group": "g",
        "person": None,
        "waived": False,
        "waiver": "w1",
        "measure": None,
    }
    assert ("waiver-unused", "g", None, "w1") not in found


def test_person_waiver_is_narrow_and_group_waiver_is_broad(tmp_path: Path) -> None:
    people = [*WAIVER_PEOPLE, person("ie", "IE")]
    groups = [*WAIVER_GROUPS, sensitive_group("h", "us", ["sg", "ie"])]
    waivers = [
        waiver("narrow", "member-location", "g", dt.date(2027, 1, 31), "sg"),
        waiver("broad", "member-location", "h", dt.date(2027, 1, 31)),
    ]
    found = findings_for(tmp_path, people, groups, waivers=waivers)
    waived = {(f["group"], f["person"], f["waiver"]) for f in found if f["waived"]}
    assert waived == {("g", "sg", "narrow"), ("h", "sg", "broad"), ("h", "ie", "broad")}
    assert found and not any(f["rule"].startswith("waiver-") for f in found)


def test_waiver_unused_when_nothing_matches(tmp_path: Path) -> None:
    waivers = [
        waiver("other-rule", "departed-owner", "g", dt.date(2027, 1, 31)),
        waiver("other-person", "member-location", "g", dt.date(2027, 1, 31), "us"),
        waiver("both", "member-location", "g", dt.date(2025, 1, 1), "us"),  # expired and unmatched
    ]
    found = by_key(findings_for(tmp_path, WAIVER_PEOPLE, WAIVER_GROUPS, waivers=waivers))
    assert not any(f["waived"] for f in found.values())
    assert {k for k in found if k[0].startswith("waiver-")} == {
        ("waiver-unused", "g", None, "other-rule"),
        ("waiver-unused", "g", None, "other-person"),
        ("waiver-expired", "g", None, "both"),
    }
    assert all(found[k]["level"] == "warn" for k in found if k[0].startswith("waiver-"))


# ---------------------------------------------------------------- inventory integrity


def strict_load(path: Path) -> Any:
    """safe_load that refuses duplicate mapping keys, as the SPEC requires of inventories."""

    class Strict(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            assert key not in seen, f"{path}: duplicate key {key!r}"
            seen.add(key)
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Strict)


PERSON_KEYS = {"id", "name", "location", "employment", "status", "trainings", "email", "accounts"}
GROUP_KEYS = {
    "reviewed",
    "external_id",
    "id",
    "platform",
    "kind",
    "owner",
    "members",
    "data_classes",
    "subject_jurisdictions",
    "description",
}
WAIVER_KEYS = {"id", "rule", "group", "person", "reason", "approved_by", "expires"}
KINDS = {"chat", "channel", "mailing-list", "document-space", "case-queue"}
RULES = {*POLICY_RULES}


def assert_valid_inventory(root: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """The SPEC §2 rules a hand-written or generated inventory must keep; returns its records."""
    people: list[dict] = []
    groups: list[dict] = []
    waivers: list[dict] = []
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        doc = strict_load(path)
        assert isinstance(doc, dict) and set(doc) <= {"people", "groups", "waivers"}, path
        people += doc.get("people", [])
        groups += doc.get("groups", [])
        waivers += doc.get("waivers", [])
    for kind, records in (("person", people), ("group", groups), ("waiver", waivers)):
        ids = [r["id"] for r in records]
        assert all(isinstance(i, str) and ID_RE.match(i) for i in ids), kind
        assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    person_ids = {p["id"] for p in people}
    group_ids = {g["id"] for g in groups}
    for p in people:
        assert set(p) <= PERSON_KEYS and {"id", "location", "employment"} <= set(p), p
        assert pycountry.countries.get(alpha_2=p["location"]) is not None, p
        assert p["employment"] in {"employee", "contractor", "vendor"}, p
        assert p.get("status", "active") in {"active", "departed"}, p
        assert set(p.get("trainings", {})) <= {"privacy"}, p
        assert all(isinstance(d, dt.date) for d in p.get("trainings", {}).values()), p
    for g in groups:
        assert set(g) <= GROUP_KEYS and {"id", "platform", "kind", "owner", "members"} <= set(g), g
        assert g["kind"] in KINDS, g
        assert g["owner"] in person_ids and set(g["members"]) <= person_ids, g["id"]
        assert set(g.get("data_classes", [])) <= set(POLICY["data_classes"]), g["id"]
        assert set(g.get("subject_jurisdictions", [])) <= set(POLICY["jurisdictions"]), g["id"]
    for w in waivers:
        assert set(w) <= WAIVER_KEYS and WAIVER_KEYS - {"person"} <= set(w), w
        assert w["rule"] in RULES and w["group"] in group_ids and w["approved_by"] in person_ids, w
        assert "person" not in w or w["person"] in person_ids, w
        assert isinstance(w["expires"], dt.date), w
    return people, groups, waivers


# ---------------------------------------------------------------- synthetic orgs


def test_generated_org_is_valid_and_counts_match(tmp_path: Path) -> None:
    stats = build_org(tmp_path, 300, seed=7, people_per_file=250)
    people, groups, waivers = assert_valid_inventory(tmp_path)
    assert (stats.groups, stats.people, stats.waivers) == (300, 900, len(waivers))
    assert (len(groups), len(people)) == (300, 900)
    assert sorted(p.name for p in (tmp_path / "people").iterdir()) == [
        "people-0001.yaml",
        "people-0002.yaml",
        "people-0003.yaml",
        "people-0004.yaml",
    ]
    assert len(list((tmp_path / "groups").rglob("*.yaml"))) == 300
    for g in groups:
        assert (tmp_path / "groups" / g["platform"] / f"{g['id']}.yaml").is_file()
    assert stats.memberships == sum(len(set(g["members"]) | {g["owner"]}) for g in groups)


def test_generated_org_is_deterministic(tmp_path: Path) -> None:
    def snapshot(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}

    generate_org(tmp_path / "a", 50, seed=3)
    generate_org(tmp_path / "b", 50, seed=3)
    generate_org(tmp_path / "c", 50, seed=4)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert snapshot(tmp_path / "a") != snapshot(tmp_path / "c")


def test_generated_org_shape_for_1000_groups(tmp_path: Path) -> None:
    generate_org(tmp_path, 1000, seed=0)
    _, groups, waivers = assert_valid_inventory(tmp_path)
    sizes = sorted(len(set(g["members"]) | {g["owner"]}) for g in groups)
    # Mean ~13.7 members: 13,700 expected; the heavy tail gives a standard deviation ~1,200.
    assert 9_000 <= sum(sizes) <= 20_000
    assert sizes[0] >= 3 and sizes[-1] <= 500
    assert sizes[len(sizes) // 2] <= 6 and sizes[-1] > 100  # small median, heavy tail
    assert any(g["owner"] not in g["members"] for g in groups)
    assert not any(w["rule"].startswith("waiver-") for w in waivers)

    findings = expected_findings(tmp_path, POLICY, AS_OF)
    counts = count_by_rule(findings)
    assert set(counts) == {*POLICY_RULES, "waiver-expired", "waiver-unused"}
    assert any(f["waived"] for f in findings)
    # Most groups pass: failing (deny) findings concentrate in a minority.
    assert len({f["group"] for f in findings if f["level"] == "deny"}) < len(groups) / 2


def test_generated_org_without_waivers(tmp_path: Path) -> None:
    generate_org(tmp_path, 20, seed=1, waivers=False)
    assert not (tmp_path / "waivers.yaml").exists()
    assert_valid_inventory(tmp_path)


# ---------------------------------------------------------------- the example organisation

EXAMPLE = REPO / "inventories"


def test_example_org_is_valid() -> None:
    people, groups, _ = assert_valid_inventory(EXAMPLE)
    assert 40 <= len(people) <= 80 and 15 <= len(groups) <= 25
    assert {g["platform"] for g in groups} >= {"lark", "slack", "google-groups"}


def test_example_org_fires_every_rule() -> None:
    findings = expected_findings(EXAMPLE, POLICY, AS_OF)
    counts = count_by_rule(findings)
    assert set(counts) == {*POLICY_RULES, "waiver-expired", "waiver-unused"}
    # Every rule fires unwaived at least once too, so a checker that waives too much fails.
    assert {f["rule"] for f in findings if not f["waived"]} >= set(POLICY_RULES)


def test_example_org_has_a_clean_sensitive_group() -> None:
    _, groups, _ = assert_valid_inventory(EXAMPLE)
    with_findings = {f["group"] for f in expected_findings(EXAMPLE, POLICY, AS_OF)}
    sensitive = [
        g["id"]
        for g in groups
        if any(POLICY["data_classes"][c].get("sensitive") for c in g.get("data_classes", []))
    ]
    assert "lark-us-ttsafety-escalations" in set(sensitive) - with_findings
    reviewed = next(g for g in groups if g["id"] == "lark-us-ttsafety-escalations")["reviewed"]
    # compliant because reviewed, not because unchecked (PyYAML 1.1 reads the key `on` as true)
    assert reviewed["by"] == "ana.ruiz" and len(reviewed) == 2


def test_example_org_waivers() -> None:
    findings = expected_findings(EXAMPLE, POLICY, AS_OF)
    waived = {(f["rule"], f["group"], f["person"], f["waiver"]) for f in findings if f["waived"]}
    assert ("owner-location", "lark-cn-ops-review", None, "w-2026-014") in waived
    assert ("non-employee-access", "lark-sg-content-review", "arjun.das", "w-2026-022") in waived
    warnings = {(f["rule"], f["waiver"]) for f in findings if f["rule"].startswith("waiver-")}
    assert warnings == {("waiver-expired", "w-2026-031"), ("waiver-unused", "w-2026-040")}
    # The expired waiver no longer suppresses its finding.
    assert {"rule": "member-location", "level": "deny", "group": "slack-privacy-dsar",
            "person": "james.whitfield", "waived": False, "waiver": None, "measure": None} in findings  # fmt: skip


def test_example_org_incident_group() -> None:
    findings = [f for f in expected_findings(EXAMPLE, POLICY, AS_OF) if f["group"] == "lark-ttsafety-general"]
    rules = count_by_rule(findings)
    assert rules["sensitive-group-size"] == 1
    assert rules["member-location"] > 20 and rules["non-employee-access"] > 5
