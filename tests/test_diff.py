"""checker.diff: classification, attribution, impact and the evaluation plan (pure functions)."""

from __future__ import annotations

from checker import diff, inventory
from checker.inventory import Known, SourceFile
from checker.models import Finding, Inventory, Location, Waiver
from testing.gitorg import INVENTORY

KNOWN = Known(frozenset({"public", "user_pii", "government_id"}), frozenset({"US", "EU"}))
GROUP = "inventories/groups/us-escalations.yaml"
PEOPLE = "inventories/people/us.yaml"
AS_OF = "2026-11-29"


def build(changes: dict[str, str | None] | None = None) -> Inventory:
    """The test organisation with some files replaced (None removes one)."""
    files: dict[str, str | None] = {**INVENTORY, **(changes or {})}
    parsed = [inventory.parse_source(SourceFile(path, text.encode())) for path, text in files.items() if text]
    return inventory.build(parsed, KNOWN)


def edit(path: str, old: str, new: str) -> dict[str, str | None]:
    text = INVENTORY[path]
    assert old in text
    return {path: text.replace(old, new, 1)}


def finding(rule: str, group: str, person: str | None = None, line: int = 2, file: str = GROUP,
            **kw: object) -> Finding:
    return Finding(rule, "deny", group, person, f"{rule} message", Location(file, line), **kw)  # type: ignore[arg-type]


BASE = build()


# ---------------------------------------------------------------- classify


def test_classify_by_identity() -> None:
    head = build()
    base_findings = [finding("owner-location", "cn-review", file="a.yaml"),
                     finding("member-location", "us-escalations", "bob", line=8)]
    head_findings = [finding("owner-location", "cn-review", file="b.yaml", line=3),
                     finding("group-size", "us-escalations")]
    out = {(f.rule, f.change): f for f in diff.classify(base_findings, head_findings, BASE, head, AS_OF)}
    assert set(out) == {("owner-location", "unchanged"), ("member-location", "resolved"),
                        ("group-size", "introduced")}
    assert out[("owner-location", "unchanged")].location == Location("b.yaml", 3)  # the head's location
    assert out[("member-location", "resolved")].location == Location(GROUP, 8)  # the base's location


def test_same_rule_and_group_different_person_are_different_findings() -> None:
    out = diff.classify([finding("member-location", "g", "bob")], [finding("member-location", "g", "li")],
                        BASE, BASE, AS_OF)
    assert sorted((f.person, f.change) for f in out) == [("bob", "resolved"), ("li", "introduced")]


def test_a_waiver_removed_brings_the_finding_back_as_introduced() -> None:
    waived = finding("owner-location", "cn-review", waived=True, waiver="w-1")
    in_force = finding("owner-location", "cn-review")
    [back] = diff.classify([waived], [in_force], BASE, BASE, AS_OF)
    assert back.change == "introduced" and not back.waived
    # the other way round the finding is still present, waived: unchanged
    [quiet] = diff.classify([in_force], [waived], BASE, BASE, AS_OF)
    assert quiet.change == "unchanged" and quiet.waived


def test_a_waiver_narrowed_points_at_the_waiver() -> None:
    waiver = Waiver("w-1", "owner-location", "cn-review", "li", "r", "ana", "2027-01-01",
                    Location("inventories/waivers.yaml", 3))
    head = Inventory(BASE.people, BASE.groups, {"w-1": waiver})
    [back] = diff.classify([finding("owner-location", "cn-review", waived=True, waiver="w-1")],
                           [finding("owner-location", "cn-review")], BASE, head, AS_OF)
    assert back.location == Location("inventories/waivers.yaml", 3)


def test_waiver_findings_keep_their_own_identity() -> None:
    unused = Finding("waiver-unused", "warn", "cn-review", None, "m", Location("w.yaml", 2), waiver="w-1")
    other = unused.with_(waiver="w-2")
    out = diff.classify([unused], [other], BASE, BASE, AS_OF)
    assert sorted((f.waiver, f.change) for f in out) == [("w-1", "resolved"), ("w-2", "introduced")]


# ---------------------------------------------------------------- attribute


def test_member_added_points_at_the_member_entry() -> None:
    head = build(edit(GROUP, "      - bob\n", "      - bob\n      - li\n"))
    f = finding("member-location", "us-escalations", "li", line=9)
    assert diff.attribute(f, BASE, head) == Location(GROUP, 9)


def test_person_moved_points_at_their_record_in_the_people_file() -> None:
    head = build(edit(PEOPLE, "  - id: bob\n    location: US", "  - id: bob\n    location: DE"))
    f = finding("member-location", "us-escalations", "bob", line=8)  # evaluation: the member's entry
    assert diff.attribute(f, BASE, head) == Location(PEOPLE, 6)  # bob's `location:` line


def test_owner_record_changed_points_at_the_owner_record() -> None:
    head = build(edit(PEOPLE, "  - id: ana\n    location: US", "  - id: ana\n    location: IE"))
    f = finding("owner-location", "us-escalations")
    assert diff.attribute(f, BASE, head) == Location(PEOPLE, 3)


def test_several_fields_changed_prefers_the_one_the_message_names() -> None:
    head = build(edit(PEOPLE, "  - id: cy\n    location: US\n    employment: contractor",
                      "  - id: cy\n    location: SG\n    employment: vendor"))
    by_employment = Finding("non-employee", "warn", "us-escalations", "cy", "cy is a vendor",
                            Location(GROUP, 9))
    by_location = by_employment.with_(rule="member-location", message="member cy works from SG")
    assert diff.attribute(by_employment, BASE, head) == Location(PEOPLE, 10)
    assert diff.attribute(by_location, BASE, head) == Location(PEOPLE, 9)


def test_new_group_keeps_the_evaluation_location() -> None:
    group = INVENTORY[GROUP].replace("us-escalations", "us-appeals")
    head = build({"inventories/groups/us-appeals.yaml": group})
    assert diff.attribute(finding("group-size", "us-appeals", file="inventories/groups/us-appeals.yaml"),
                          BASE, head) == Location("inventories/groups/us-appeals.yaml", 2)


def test_data_class_added_points_at_that_class() -> None:
    head = build(edit(GROUP, "data_classes: [user_pii]", "data_classes:\n      - user_pii\n"
                                                         "      - public\n      - government_id"))
    f = Finding("group-size", "deny", "us-escalations", None, "too many members for government_id",
                Location(GROUP, 2))
    assert diff.attribute(f, BASE, head) == Location(GROUP, 12)


def test_group_field_changes_point_at_their_lines() -> None:
    moved = build(edit(GROUP, "subject_jurisdictions: [US]", "subject_jurisdictions: [EU]"))
    assert diff.attribute(finding("owner-location", "us-escalations"), BASE, moved) == Location(GROUP, 10)
    rekinded = build(edit("inventories/groups/cn-review.yaml", "kind: document-space", "kind: chat"))
    f = finding("minor-safety", "cn-review", file="inventories/groups/cn-review.yaml")
    assert diff.attribute(f, BASE, rekinded) == Location("inventories/groups/cn-review.yaml", 4)
    owner = build(edit(GROUP, "owner: ana", "owner: bob"))
    assert diff.attribute(finding("owner-location", "us-escalations"), BASE, owner) == Location(GROUP, 5)


def test_whole_group_finding_from_new_members_points_at_a_new_member() -> None:
    head = build(edit(GROUP, "      - bob\n", "      - bob\n      - cy\n      - eva\n"))
    assert diff.attribute(finding("group-size", "us-escalations"), BASE, head) == Location(GROUP, 9)


def test_a_member_finding_is_not_blamed_on_another_member() -> None:
    # bob's finding appears because the group became EU; eva joining is not its cause, and
    # SPEC §7 puts a member finding at the member's own entry
    head = build(edit(GROUP, "      - bob\n    data_classes: [user_pii]\n    subject_jurisdictions: [US]",
                      "      - bob\n      - eva\n    data_classes: [user_pii]\n    subject_jurisdictions: [EU]"))
    f = finding("member-location", "us-escalations", "bob", line=8)
    assert diff.attribute(f, BASE, head) == Location(GROUP, 8)


def test_a_renamed_file_moves_locations_but_explains_nothing() -> None:
    head = build({GROUP: None, "inventories/groups/renamed.yaml": INVENTORY[GROUP]})
    f = finding("owner-location", "us-escalations", file="inventories/groups/renamed.yaml")
    assert diff.attribute(f, BASE, head) == f.location


def test_new_repository_everything_introduced_at_evaluation_locations() -> None:
    head = build()
    f = finding("owner-location", "cn-review", file="inventories/groups/cn-review.yaml")
    [out] = diff.classify([], [f], diff.EMPTY, head, AS_OF)
    assert out.change == "introduced" and out.location == f.location


# ---------------------------------------------------------------- impact and plan


def test_impact_lists_added_and_dropped() -> None:
    before = [finding("owner-location", "cn-review"), finding("group-size", "us-escalations")]
    after = [finding("owner-location", "cn-review"), finding("member-location", "us-escalations", "bob")]
    out = {(f.rule, f.change) for f in diff.impact(before, after)}
    assert out == {("group-size", "resolved"), ("member-location", "introduced")}


def test_plan_shares_identical_inputs_between_sides() -> None:
    head = build(edit(PEOPLE, "  - id: bob\n    location: US", "  - id: bob\n    location: DE"))
    todo = diff.plan([BASE, head], AS_OF, "policies")
    base_keys, head_keys = todo.keys
    assert set(base_keys) == set(head_keys) == {"us-escalations", "cn-review"}
    # both groups have bob as a member, so both inputs changed
    assert base_keys["cn-review"] != head_keys["cn-review"]
    assert len(todo.first) == 4
    renamed = build({GROUP: None, "inventories/groups/renamed.yaml": INVENTORY[GROUP]})
    todo = diff.plan([BASE, renamed], AS_OF, "policies")
    assert todo.keys[0] == todo.keys[1] and len(todo.first) == 2  # a rename changes no input
    inputs = diff.inputs_to_evaluate(todo, [BASE, renamed], AS_OF, todo.first)
    assert sorted(doc["group"]["id"] for _, doc in inputs) == ["cn-review", "us-escalations"]
    assert all(doc["as_of"] == AS_OF for _, doc in inputs)


def test_plan_keys_depend_on_policies_and_date() -> None:
    keys = diff.plan([BASE], AS_OF, "p1").keys[0]
    assert keys != diff.plan([BASE], AS_OF, "p2").keys[0]
    assert keys != diff.plan([BASE], "2026-11-30", "p1").keys[0]


def test_a_finding_whose_level_rises_to_deny_is_introduced() -> None:
    warned = Finding("size", "warn", "us-escalations", None, "big", Location(GROUP, 2))
    denied = Finding("size", "deny", "us-escalations", None, "too big", Location(GROUP, 2))
    (out,) = diff.classify([warned], [denied], BASE, BASE, AS_OF)
    assert (out.change, out.level) == ("introduced", "deny")
    (back,) = diff.classify([denied], [warned], BASE, BASE, AS_OF)
    assert back.change == "unchanged"  # a level falling is not a new problem


def test_a_member_finding_caused_by_a_group_change_points_at_the_member() -> None:
    head = build(edit(GROUP, "data_classes: [user_pii]", "data_classes: [user_pii, government_id]"))
    member = finding("non-employee", "us-escalations", "bob", line=8)
    group_level = finding("group-size", "us-escalations", line=2)
    out = {f.rule: f for f in diff.classify([], [member, group_level], BASE, head, AS_OF)}
    assert out["non-employee"].location == Location(GROUP, 8)  # bob's entry, SPEC §7
    assert out["group-size"].location == Location(GROUP, 9)  # the data class added


def test_worsened_by_measure_or_by_message() -> None:
    def sized(measure: float | None, message: str = "big", level: str = "deny") -> Finding:
        return Finding("size", level, "us-escalations", None, message, Location(GROUP, 2), measure=measure)

    def change(old: Finding, new: Finding) -> str | None:
        (out,) = diff.classify([old], [new], BASE, BASE, AS_OF)
        return out.change

    assert change(sized(61, "61 members"), sized(401, "401 members")) == "worsened"
    assert change(sized(401, "401 members"), sized(61, "61 members")) == "unchanged"  # shrinking passes
    assert change(sized(61), sized(61)) == "unchanged"
    assert change(sized(None, "owner li works from CN"), sized(None, "owner eva works from IE")) == "worsened"
    assert change(sized(None, "a"), sized(None, "a")) == "unchanged"
    assert change(sized(2, "a", "deny"), sized(3, "b", "warn")) == "unchanged"  # a lower level is better
    waiver_finding = Finding("waiver-unused", "warn", "g", None, "a", waiver="w")
    assert change(waiver_finding, waiver_finding.with_(message="b")) == "unchanged"
