"""Records are validated one by one: a field error is one error, not a cascade (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker import inventory
from checker.errors import InputError
from tests.conftest import run_checker
from tests.test_inventory import GROUP, KNOWN, PEOPLE, WAIVER, one_problem, problems, write


def test_one_bad_location_is_one_error_line_in_the_example_org(example_repo: Path) -> None:
    """The acceptance case: `location: USA` in people/us.yaml, nothing about the groups that name them."""
    people = example_repo / "inventories" / "people" / "us.yaml"
    text = people.read_text()
    people.write_text(text.replace("location: US\n", "location: USA\n", 1))
    line = text.split("location: US\n", 1)[0].count("\n") + 1
    proc = run_checker("audit", "--as-of", "2026-11-29", cwd=example_repo)
    assert proc.returncode == 2 and proc.stdout == ""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("checker: error:")]
    assert errors == [f"checker: error: inventories/people/us.yaml:{line}: people[0].location: 'USA' is not an "
                      "ISO 3166-1 alpha-2 country code; did you mean 'US'? (two letters, not three)"]


@pytest.mark.parametrize(("old", "new"), [
    ("location: CN", "location: China"),
    ("employment: contractor", "employment: intern"),
    ("status: departed", "status: gone"),
    ("privacy: 2026-03-02", "privacy: 2026-02-30"),
    ("    status: departed\n", "    status: departed\n    manager: x\n"),
])
def test_a_person_with_a_field_error_is_still_known_by_id(tmp_path: Path, old: str, new: str) -> None:
    files = {"p.yaml": PEOPLE.replace(old, new), "g.yaml": GROUP, "w.yaml": WAIVER}
    file, _line, _message = one_problem(write(tmp_path, files))
    assert file == "inv/p.yaml"


@pytest.mark.parametrize(("old", "new", "line"), [
    ("kind: chat", "kind: chatroom", 4),
    ("platform: lark", "platform: ''", 3),
    ("[user_pii]", "user_pii", 8),
    ("    subject_jurisdictions: [US]\n", "    subject_jurisdictions: [US]\n    colour: red\n", 10),
])
def test_a_group_with_a_field_error_is_still_known_by_id(tmp_path: Path, old: str, new: str, line: int) -> None:
    """No spurious `waiver ...: group is not a known group` for the waiver of a group with a bad field."""
    files = {"p.yaml": PEOPLE, "g.yaml": GROUP.replace(old, new), "w.yaml": WAIVER}
    assert one_problem(write(tmp_path, files))[:2] == ("inv/g.yaml", line)


def test_references_of_a_group_with_a_field_error_are_still_checked(tmp_path: Path) -> None:
    group = GROUP.replace("kind: chat", "kind: chatroom").replace("      - li.wei", "      - ghost")
    found = problems(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": group}))
    assert [(line, "ghost" in message) for _f, line, message in found] == [(4, False), (7, True)]


def test_an_unreadable_file_comes_first_and_what_follows_from_it_after(tmp_path: Path) -> None:
    """A people file that is not YAML: the groups naming its people are listed after it, counted."""
    files = {"z-people.yaml": PEOPLE.replace("  - id: li.wei", "  - id: [li.wei"), "g.yaml": GROUP,
             "w.yaml": WAIVER}
    with pytest.raises(InputError) as exc:
        inventory.load(write(tmp_path, files), "inv", KNOWN)
    shown = [str(p) for p in exc.value.problems]
    assert shown[0].startswith("inv/z-people.yaml:6: not valid YAML")
    assert shown[1] == ("4 further errors follow from inv/z-people.yaml, which could not be read: references "
                        "to ids it may define")
    assert shown[2:] == ["inv/g.yaml:5: group g1: owner 'mei.chen' is not a known person",
                         "inv/g.yaml:7: group g1: member 'li.wei' is not a known person",
                         "inv/w.yaml:5: waiver w1: person 'li.wei' is not a known person",
                         "inv/w.yaml:7: waiver w1: approved_by 'mei.chen' is not a known person"]


def test_a_record_without_an_id_is_the_cause_of_references_to_it(tmp_path: Path) -> None:
    people = PEOPLE.replace("  - id: li.wei\n", "  - name: Li Wei\n")
    found = problems(write(tmp_path, {"p.yaml": people, "g.yaml": GROUP}))
    assert found[0] == ("inv/p.yaml", 5, "missing required field 'id' in people[1]")
    assert found[1][2].startswith("1 further error follows from inv/p.yaml:5, which could not be read")
    assert found[2] == ("inv/g.yaml", 7, "group g1: member 'li.wei' is not a known person")


def test_without_an_unreadable_record_a_bad_reference_is_a_plain_error(tmp_path: Path) -> None:
    found = problems(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": GROUP.replace("- li.wei", "- ghost")}))
    assert found == [("inv/g.yaml", 7, "group g1: member 'ghost' is not a known person")]


@pytest.mark.parametrize(("code", "hint"), [("UK", "did you mean 'GB'?"), ("EL", "did you mean 'GR'?")])
def test_common_country_aliases_suggest_the_iso_code(tmp_path: Path, code: str, hint: str) -> None:
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE.replace("location: CN", f"location: {code}")}))
    assert line == 6 and f"unknown country code {code!r}" in message and hint in message


@pytest.mark.parametrize(("value", "words"), [
    ('"2026-1-5"', "is not a YYYY-MM-DD date"),
    ('"2026-13-01"', "is not a real date"),
    ("2026-02-30", "is not a real date"),
    ("1899-12-31", "is not between 1900-01-01 and 2199-12-31"),
    ("2200-01-01", "is not between 1900-01-01 and 2199-12-31"),
    ("9999-12-31", "is not between 1900-01-01 and 2199-12-31"),
    ("'0000-01-01'", "is not a real date"),
])
def test_a_bad_date_is_one_error_with_its_line(tmp_path: Path, value: str, words: str) -> None:
    """Out of range dates used to pass and then crash the audit inside time.parse_ns."""
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": GROUP,
                                                        "w.yaml": WAIVER.replace("2027-01-31", value)}))
    assert line == 8 and f"waivers[0].expires: '{value.strip(chr(34) + chr(39))}' {words}" == message


def test_dates_at_the_ends_of_the_range_are_fine(tmp_path: Path) -> None:
    people = PEOPLE.replace("privacy: 2026-03-02", "privacy: 1900-01-01\n      security: 2199-12-31")
    inv = inventory.load(write(tmp_path, {"p.yaml": people}), "inv", KNOWN)
    assert inv.people["li.wei"].record["trainings"] == {"privacy": "1900-01-01", "security": "2199-12-31"}


REVIEWED = "    reviewed:\n      on: 2026-10-01\n      by: mei.chen\n"


def test_reviewed_is_read_and_passed_as_given(tmp_path: Path) -> None:
    inv = inventory.load(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": GROUP + REVIEWED}), "inv", KNOWN)
    assert inv.groups["g1"].fields["reviewed"] == {"on": "2026-10-01", "by": "mei.chen"}


@pytest.mark.parametrize(("reviewed", "line", "words"), [
    (REVIEWED.replace("by: mei.chen", "by: ghost"), 12, "group g1: reviewed by 'ghost' is not a known person"),
    (REVIEWED.replace("2026-10-01", "2026-10-32"), 11, "groups[0].reviewed.on: '2026-10-32' is not a real date"),
    (REVIEWED.replace("      by: mei.chen\n", ""), 10, "missing required field 'by' in groups[0].reviewed"),
    (REVIEWED + "      note: x\n", 13, "unknown field 'note' in groups[0].reviewed"),
])
def test_reviewed_is_checked(tmp_path: Path, reviewed: str, line: int, words: str) -> None:
    assert one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": GROUP + reviewed})) == ("inv/g.yaml", line, words)


def test_duplicates_among_non_string_items_are_found_without_comparing_every_pair(tmp_path: Path) -> None:
    """jsonschema's uniqueItems compares every pair once an item is not a string (a 300 KB file took
    minutes); ours hashes. 10,000 mixed items: a fraction of a second here, minutes pairwise."""
    items = ", ".join(f"{{n: {i}}}" if i % 2 else f"p{i}" for i in range(10_000))
    group = GROUP.replace("    members:\n      - li.wei\n", f"    members: [{items}, {{n: 1}}]\n")
    found = problems(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": group}))
    # each mapping is not an id, {n: 1} is listed twice, and each pNNN is not a known person
    assert len(found) == 5_001 + 1 + 5_000
    assert ("inv/g.yaml", 6, "groups[0].members lists {'n': 1} more than once") in found


@pytest.mark.parametrize(("items", "unique"), [("[1, true]", True), ("[1, 1.0]", False), ("[[1], [true]]", True),
                                               ("[{a: 1}, {a: 1}]", False), ("[x, 'x']", False)])
def test_duplicate_items_are_equal_as_json_schema_says(tmp_path: Path, items: str, unique: bool) -> None:
    group = GROUP.replace("    data_classes: [user_pii]\n", f"    data_classes: {items}\n")
    found = problems(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": group}))
    assert any("more than once" in message for _f, _l, message in found) is not unique
