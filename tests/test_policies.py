"""Loading policy folders: rule ids, METADATA, data merging, and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checker import policies
from checker.errors import PolicyError
from tests.conftest import ROOT

FAMILY = """\
# METADATA
# title: Something
# description: Explains it.
# custom:
#   severity: high
#   remediation: Fix it.
package access.some_rule

import rego.v1

deny contains "x" if input.group.kind == "chat"

warn contains {"msg": "y", "person": "p"} if false
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_shipped_pack() -> None:
    pack = policies.load_dir(ROOT / "policies", "policies")
    assert set(pack.rules) == {"owner-location", "member-location", "subject-jurisdiction-missing",
                               "sensitive-group-size", "non-employee-access", "minor-safety-in-chat",
                               "departed-owner", "training-expired", "departed-member", "access-review-overdue",
                               "sensitive-reach"}
    assert {r.rule_id for r in pack.rules.values() if r.scope == "person"} == {"sensitive-reach"}
    assert pack.rules["training-expired"].levels == ("warn",)
    assert pack.data["training_max_age_days"] == 365
    assert "cases" not in pack.data  # *_test.yaml are cases, not data
    assert len(pack.case_files) == 11 and len(pack.test_modules) == 13


def test_rule_id_metadata_and_levels(tmp_path: Path) -> None:
    pack = policies.load_dir(write(tmp_path, {"f/some_rule.rego": FAMILY, "data.yaml": "a: 1\n"}), "p")
    rule = pack.rules["some-rule"]
    assert (rule.package, rule.levels, rule.title, rule.severity, rule.remediation) == (
        "access.some_rule", ("deny", "warn"), "Something", "high", "Fix it.")
    assert rule.file == "p/f/some_rule.rego"


def test_helper_packages_are_not_rule_families(tmp_path: Path) -> None:
    helper = "package lib.x\n\nimport rego.v1\n\ndeny contains 1 if false\n"
    nested = "package access.a.b\n\nimport rego.v1\n\ndeny contains 1 if false\n"
    pack = policies.load_dir(write(tmp_path, {"f.rego": FAMILY, "h.rego": helper, "n.rego": nested}), "p")
    assert set(pack.rules) == {"some-rule"}


def test_a_data_key_defined_twice_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"f.rego": FAMILY, "a.yaml": "limits: 1\n", "b.json": '{"limits": 2}'})
    with pytest.raises(PolicyError, match=r"data key 'limits' is already defined in p/a\.yaml"):
        policies.load_dir(tmp_path, "p")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("d.yaml", "a: 1\na: 2\n", "duplicate key 'a'"),
    ("d.json", '{"a": 1, "a": 2}', "duplicate key 'a'"),
    ("d.yaml", "- 1\n", "must be a mapping"),
])
def test_bad_data_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    write(tmp_path, {"f.rego": FAMILY, name: text})
    with pytest.raises(PolicyError, match=message):
        policies.load_dir(tmp_path, "p")


def test_digest_moves_with_content_but_not_with_tests(tmp_path: Path) -> None:
    write(tmp_path, {"f.rego": FAMILY})
    first = policies.load_dir(tmp_path, "p").digest
    write(tmp_path, {"f_test.rego": "package access.some_rule\n", "f_test.yaml": "cases: []\n"})
    assert policies.load_dir(tmp_path, "p").digest == first
    write(tmp_path, {"data.yaml": "a: 1\n"})
    assert policies.load_dir(tmp_path, "p").digest != first


def test_symlink_leaving_the_policy_folder(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"evil.rego": FAMILY})
    root = write(tmp_path / "pol", {"f.rego": FAMILY})
    os.symlink(outside / "evil.rego", root / "evil.rego")
    with pytest.raises(PolicyError, match="symlink leaves the policy folder"):
        policies.load_dir(root, "p")


def test_no_modules(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy modules"):
        policies.load_dir(write(tmp_path, {"data.yaml": "a: 1\n"}), "p")


def test_indented_rule_heads_are_recognised(tmp_path: Path) -> None:
    indented = FAMILY.replace('deny contains "x"', '  deny contains "x"').replace("warn contains", "\twarn contains")
    rule = policies.load_dir(write(tmp_path, {"f.rego": indented}), "p").rules["some-rule"]
    assert rule.levels == ("deny", "warn")


def test_a_family_whose_heads_are_not_recognised_is_an_error(tmp_path: Path) -> None:
    odd = "package access.odd\n\nimport rego.v1\n\nx := deny\n\nwarn_me := 1\n\ny := warn\n"
    with pytest.raises(PolicyError, match="mentions deny/warn but no rule head"):
        policies.load_dir(write(tmp_path, {"f.rego": FAMILY, "odd.rego": odd}), "p")


def test_policies_without_any_rule_family_are_an_error(tmp_path: Path) -> None:
    helper = "package lib.x\n\nimport rego.v1\n\nf(x) := x\n"
    with pytest.raises(PolicyError, match="no rule family found"):
        policies.load_dir(write(tmp_path, {"h.rego": helper}), "p")


@pytest.mark.parametrize(("text", "where"), [
    ("data_classes:\n  user_pii: {sensitive: yes}\n", "data_classes.user_pii.sensitive"),
    ("data_classes:\n  x: {sensitive: true, max_members: '50'}\n", "data_classes.x.max_members"),
    ("data_classes:\n  x: {max_members: 5}\n", "sensitive"),
    ("jurisdictions:\n  US: {staff_locations: [us]}\n", "jurisdictions.US.staff_locations[0]"),
    ("training_max_age_days: 365 days\n", "training_max_age_days"),
])
def test_policy_data_of_the_wrong_shape_is_an_error(tmp_path: Path, text: str, where: str) -> None:
    write(tmp_path, {"f.rego": FAMILY, "data.yaml": text})
    with pytest.raises(PolicyError) as exc:
        policies.load_dir(tmp_path, "p")
    (problem,) = exc.value.problems
    assert problem.file == "p/data.yaml" and problem.line and where in problem.message


def test_a_metadata_alias_bomb_is_refused_with_its_line(tmp_path: Path) -> None:
    """A 1 KB comment used to expand to gigabytes: METADATA is read with the inventory's YAML limits."""
    bomb = ["# METADATA", '# l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"# l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    module = "\n".join(bomb) + "\n" + FAMILY.split("\n", 6)[6]
    assert len(module) < 1500
    with pytest.raises(PolicyError) as exc:
        policies.load_dir(write(tmp_path, {"f.rego": module}), "p")
    [problem] = exc.value.problems
    assert problem.file == "p/f.rego" and "bad METADATA block" in problem.message and "alias bomb" in problem.message
    assert problem.line is not None and 2 <= problem.line <= 11


def test_metadata_errors_name_the_file_line(tmp_path: Path) -> None:
    module = FAMILY.replace("#   severity: high\n", "#   severity: high\n#   severity: low\n")
    with pytest.raises(PolicyError) as exc:
        policies.load_dir(write(tmp_path, {"f.rego": module}), "p")
    assert [(p.line, p.message) for p in exc.value.problems] == [
        (6, "bad METADATA block: duplicate key 'severity' (first at line 4)")]


@pytest.mark.parametrize(("name", "text", "line"), [
    ("deep.yaml", "a: 1\nextra: " + "[" * 300 + "1" + "]" * 300 + "\n", 2),
    ("deep.json", '{"a": 1,\n "extra": ' + "[" * 300 + "1" + "]" * 300 + "}\n", 2),
    ("deep.json", '{"a": "' + "[" * 300 + '",\n "b": ' + "{\"c\": " * 150 + "1" + "}" * 150 + "}\n", 2),
], ids=["yaml", "json", "json-brackets-in-a-string"])
def test_deeply_nested_policy_data_is_an_error_with_its_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    """900 levels used to crash the run with a RecursionError while handing the data to the engine."""
    with pytest.raises(PolicyError) as exc:
        policies.load_dir(write(tmp_path, {"f.rego": FAMILY, name: text}), "p")
    assert [(p.file, p.line, p.message) for p in exc.value.problems] == [
        (f"p/{name}", line, "nested more than 100 levels deep")]


def test_policy_data_nested_within_the_limit_loads(tmp_path: Path) -> None:
    pack = policies.load_dir(write(tmp_path, {"f.rego": FAMILY, "d.json": '{"x": ' + "[" * 99 + "]" * 99 + "}"}),
                             "p")
    assert "x" in pack.data
