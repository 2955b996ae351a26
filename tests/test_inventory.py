"""Every class of bad inventory input is an error naming its file and line, and all are reported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checker import inventory
from checker.errors import InputError
from checker.inventory import Known

KNOWN = Known(frozenset({"public", "user_pii", "government_id"}), frozenset({"US", "EU"}),
              frozenset({"owner-location"}))

PEOPLE = """\
people:
  - id: mei.chen
    location: US
    employment: employee
  - id: li.wei
    location: CN
    employment: contractor
    status: departed
    trainings:
      privacy: 2026-03-02
"""

GROUP = """\
groups:
  - id: g1
    platform: lark
    kind: chat
    owner: mei.chen
    members:
      - li.wei
    data_classes: [user_pii]
    subject_jurisdictions: [US]
"""


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def problems(root: Path) -> list[tuple[str, int | None, str]]:
    with pytest.raises(InputError) as exc:
        inventory.load(root, "inv", KNOWN)
    return [(p.file, p.line, p.message) for p in exc.value.problems]


def one_problem(root: Path) -> tuple[str, int | None, str]:
    found = problems(root)
    assert len(found) == 1, found
    return found[0]


def test_good_inventory(tmp_path: Path) -> None:
    inv = inventory.load(write(tmp_path, {"people.yaml": PEOPLE, "groups/g1.yaml": GROUP}), "inv", KNOWN)
    group = inv.groups["g1"]
    assert group.members == ("mei.chen", "li.wei")  # the owner is a member though not listed
    assert group.location.file == "inv/groups/g1.yaml" and group.location.line == 2
    assert group.member_lines == {"li.wei": 7, "mei.chen": 5}
    assert group.data_class_lines == {"user_pii": 8}
    assert inv.people["li.wei"].record == {"id": "li.wei", "location": "CN", "employment": "contractor",
                                           "status": "departed", "trainings": {"privacy": "2026-03-02"}}
    assert inv.people["mei.chen"].record["status"] == "active"
    assert inv.people["mei.chen"].location.line == 2


def test_not_yaml(tmp_path: Path) -> None:
    file, line, message = one_problem(write(tmp_path, {"bad.yaml": "people:\n  - id: [x\n"}))
    assert file == "inv/bad.yaml" and line is not None and "not valid YAML" in message


def test_duplicate_key(tmp_path: Path) -> None:
    text = PEOPLE.replace("    employment: employee\n", "    employment: employee\n    location: CN\n", 1)
    assert one_problem(write(tmp_path, {"people.yaml": text})) == (
        "inv/people.yaml", 5, "duplicate key 'location' (first at line 3)")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE + "teams: []\n"}))
    assert (file, line) == ("inv/p.yaml", 11) and "unknown top-level key 'teams'" in message


def test_unknown_field(tmp_path: Path) -> None:
    text = PEOPLE.replace("    employment: employee\n", "    employment: employee\n    manager: x\n", 1)
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": text}))
    assert (line, message) == (5, "unknown field 'manager' in people[0]")


def test_missing_required_field(tmp_path: Path) -> None:
    text = PEOPLE.replace("    location: US\n", "", 1)
    assert one_problem(write(tmp_path, {"p.yaml": text}))[1:] == (2, "missing required field 'location' in "
                                                                     "people[0]")


def test_wrong_type(tmp_path: Path) -> None:
    text = GROUP.replace("    members:\n      - li.wei\n", "    members: li.wei\n")
    file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": text}))
    assert (file, line) == ("inv/g.yaml", 6) and "groups[0].members must be a list, not a string" in message


def test_wrong_enum(tmp_path: Path) -> None:
    text = PEOPLE.replace("employment: contractor", "employment: intern")
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": text}))
    assert line == 7 and "'intern' is not one of employee, contractor, vendor" in message


def test_unknown_country(tmp_path: Path) -> None:
    text = PEOPLE.replace("location: CN", "location: XX")
    assert one_problem(write(tmp_path, {"p.yaml": text}))[1:] == (
        6, "unknown country code 'XX' (ISO 3166-1 alpha-2)")


def test_lowercase_country(tmp_path: Path) -> None:
    text = PEOPLE.replace("location: CN", "location: cn")
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": text}))
    assert line == 6 and "ISO 3166-1 alpha-2" in message


def test_bad_date(tmp_path: Path) -> None:
    text = PEOPLE.replace("2026-03-02", "2026-02-30")
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": text}))
    assert line == 10 and "'2026-02-30' is not a real date" in message


def test_bad_id(tmp_path: Path) -> None:
    text = PEOPLE.replace("id: mei.chen", "id: Mei Chen")
    _file, line, message = problems(write(tmp_path, {"p.yaml": text}))[0]
    assert line == 2 and "is not a valid id" in message


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    other = "people:\n  - id: li.wei\n    location: SG\n    employment: employee\n"
    assert one_problem(write(tmp_path, {"a.yaml": PEOPLE, "b.yaml": other})) == (
        "inv/b.yaml", 2, "duplicate person id 'li.wei' (first at inv/a.yaml:5)")


def test_person_and_group_may_share_an_id(tmp_path: Path) -> None:
    group = GROUP.replace("id: g1", "id: li.wei")
    inv = inventory.load(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": group}), "inv", KNOWN)
    assert "li.wei" in inv.groups and "li.wei" in inv.people


@pytest.mark.parametrize(("old", "new", "line", "text"), [
    ("owner: mei.chen", "owner: nobody", 5, "owner 'nobody' is not a known person"),
    ("      - li.wei", "      - ghost", 7, "member 'ghost' is not a known person"),
    ("[user_pii]", "[user_pii, secrets]", 8, "unknown data class 'secrets'"),
    ("[US]", "[MARS]", 9, "unknown jurisdiction 'MARS'"),
])
def test_unknown_references(tmp_path: Path, old: str, new: str, line: int, text: str) -> None:
    file, got_line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": GROUP.replace(old, new)}))
    assert (file, got_line) == ("inv/g.yaml", line) and text in message


WAIVER = """\
waivers:
  - id: w1
    rule: owner-location
    group: g1
    person: li.wei
    reason: moving teams
    approved_by: mei.chen
    expires: 2027-01-31
"""


@pytest.mark.parametrize(("old", "new", "line", "text"), [
    ("group: g1", "group: g2", 4, "group 'g2' is not a known group"),
    ("person: li.wei", "person: ghost", 5, "person 'ghost' is not a known person"),
    ("approved_by: mei.chen", "approved_by: ghost", 7, "approved_by 'ghost' is not a known person"),
    ("rule: owner-location", "rule: no-such-rule", 3, "rule 'no-such-rule' is not a rule of the policies"),
])
def test_waiver_references(tmp_path: Path, old: str, new: str, line: int, text: str) -> None:
    files = {"p.yaml": PEOPLE, "g.yaml": GROUP, "w.yaml": WAIVER.replace(old, new)}
    file, got_line, message = one_problem(write(tmp_path, files))
    assert (file, got_line) == ("inv/w.yaml", line) and text in message


def test_all_problems_are_reported_not_only_the_first(tmp_path: Path) -> None:
    files = {"a.yaml": PEOPLE.replace("location: CN", "location: XX"),
             "b.yaml": "groups: [\n", "c.yaml": PEOPLE.replace("employee", "boss").replace("li.wei", "x.y")
             .replace("mei.chen", "z.z")}
    found = problems(write(tmp_path, files))
    assert {f for f, _, _ in found} == {"inv/a.yaml", "inv/b.yaml", "inv/c.yaml"}


def test_non_utf8(tmp_path: Path) -> None:
    data = PEOPLE.encode().replace(b"name", b"x") + b"  - id: bad\n    name: Ren\xe9\n"
    file, line, message = one_problem(write(tmp_path, {"p.yaml": data}))
    assert (file, line) == ("inv/p.yaml", 12) and "not UTF-8" in message


def test_huge_file_is_refused_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKER_MAX_FILE_BYTES", "1000")
    write(tmp_path, {"p.yaml": PEOPLE + "#" * 2000 + "\n"})
    file, _line, message = one_problem(tmp_path)
    assert file == "inv/p.yaml" and "over the limit of 1,000" in message


def test_alias_bomb_file(tmp_path: Path) -> None:
    lines = ['x: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"x{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    file, _line, message = one_problem(write(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n"}))
    assert file == "inv/bomb.yaml" and "alias bomb" in message


def test_symlink_leaving_the_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"secret.yaml": PEOPLE})
    root = write(tmp_path / "inv", {"p.yaml": PEOPLE})
    os.symlink(outside / "secret.yaml", root / "linked.yaml")
    os.symlink(outside, root / "linked-dir")
    found = problems(root)
    assert {(f, "symlink leaves the inventory folder" in m) for f, _, m in found} == {
        ("inv/linked.yaml", True), ("inv/linked-dir", True)}


def test_symlink_inside_the_tree_is_not_read_twice(tmp_path: Path) -> None:
    root = write(tmp_path, {"people/p.yaml": PEOPLE})
    os.symlink(root / "people" / "p.yaml", root / "alias.yaml")
    inv = inventory.load(root, "inv", KNOWN)
    assert set(inv.people) == {"mei.chen", "li.wei"}


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    found = problems(write(tmp_path, {"a.yaml": "", "b.yaml": "- 1\n- 2\n"}))
    assert [(f, m.split(":")[0]) for f, _, m in found] == [("inv/a.yaml", "empty file"),
                                                            ("inv/b.yaml", "expected a mapping with people, "
                                                                           "groups or waivers")]


def test_missing_folder(tmp_path: Path) -> None:
    assert one_problem(tmp_path / "nope")[2] == "inventory folder not found"


def test_duplicate_member(tmp_path: Path) -> None:
    text = GROUP.replace("      - li.wei\n", "      - li.wei\n      - li.wei\n")
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": text}))
    assert line == 6 and "lists 'li.wei' more than once" in message


def test_hidden_files_and_folders_are_read_but_git_is_not(tmp_path: Path) -> None:
    write(tmp_path, {"people.yaml": PEOPLE, ".staging/g.yaml": GROUP, ".git/config.yaml": "not: [yaml"})
    inv = inventory.load(tmp_path, "inv", KNOWN)
    assert set(inv.groups) == {"g1"}


def test_a_yaml_symlink_to_a_non_yaml_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"people.yaml": PEOPLE, "g.txt": GROUP})
    os.symlink(tmp_path / "g.txt", tmp_path / "g.yaml")
    file, _line, message = one_problem(tmp_path)
    assert file == "inv/g.yaml" and "not a YAML file" in message


def test_a_fifo_named_yaml_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"people.yaml": PEOPLE})
    os.mkfifo(tmp_path / "pipe.yaml")
    file, _line, message = one_problem(tmp_path)
    assert file == "inv/pipe.yaml" and "not a regular file" in message


def test_an_unreadable_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"people.yaml": PEOPLE, "restricted/g.yaml": GROUP})
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:  # root can read anything: simulate a folder it may not list
        if str(path).endswith("restricted"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = problems(tmp_path)
    assert any(f == "inv/restricted" and "cannot read this folder" in m for f, _, m in found)


def test_an_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    group = GROUP.replace("  - id: g1\n", '  - id: "g1\\n"\n')
    _file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": group}))
    assert line == 2 and "is not a valid id" in message and "(?!" not in message


def test_deep_nesting_is_a_yaml_problem_not_a_crash(tmp_path: Path) -> None:
    file, _line, message = one_problem(write(tmp_path, {"deep.yaml": "groups: " + "[" * 5000 + "]" * 5000 + "\n"}))
    assert file == "inv/deep.yaml" and "nest" in message  # ours, or PyYAML 6.0.4+'s own depth limit


BLOCK_300 = "\n" + "".join("      " + "  " * i + "-\n" for i in range(300)) + "  " * 303 + "- x"


@pytest.mark.parametrize("members", ["[" * 300 + "li.wei" + "]" * 300, BLOCK_300])
def test_members_nested_300_deep_is_an_error_with_its_line(tmp_path: Path, members: str) -> None:
    group = GROUP.replace("    members:\n      - li.wei\n", f"    members: {members}\n")
    file, line, message = one_problem(write(tmp_path, {"p.yaml": PEOPLE, "g.yaml": group}))
    assert file == "inv/g.yaml" and line is not None and line >= 6 and "more than 100 levels" in message


def test_a_nul_byte_names_its_line(tmp_path: Path) -> None:
    text = PEOPLE.replace("name", "x").replace("    status: departed\n", "    status: depar\x00ted\n")
    assert one_problem(write(tmp_path, {"p.yaml": text})) == (
        "inv/p.yaml", 8, "not valid YAML: control character U+0000 is not allowed in YAML text")
