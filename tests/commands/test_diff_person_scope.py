"""`checker diff` with person-scope rules (SPEC §3, §7) on a real git repository and the shipped pack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from checker.cli import main
from testing.gitorg import GitOrg
from tests.conftest import ROOT

AS_OF = "2026-11-29"
PEOPLE = """\
people:
  - {id: ana, location: US, employment: employee, trainings: {privacy: 2026-10-01}}
  - {id: bob, location: US, employment: employee, trainings: {privacy: 2026-10-01}}
"""


def group_file(number: int, members: str) -> str:
    return (f"groups:\n  - id: g{number:02d}\n    platform: lark\n    kind: document-space\n    owner: ana\n"
            f"    members:\n{members}    data_classes: [user_pii]\n    subject_jurisdictions: [US]\n"
            "    reviewed: {on: 2026-11-01, by: ana}\n")


def org_on_branch_pr(tmp_path: Path, both: int, message: str) -> GitOrg:
    """On main: `both` sensitive groups holding ana and bob, then one more holding ana only; then
    branch pr is checked out for the change under test."""
    org = GitOrg(tmp_path / "repo")
    shutil.copytree(ROOT / "policies", org.root / "policies")
    files = {"inventories/people.yaml": PEOPLE}
    for number in range(1, both + 1):
        files[f"inventories/g{number:02d}.yaml"] = group_file(number, "      - ana\n      - bob\n")
    files[f"inventories/g{both + 1:02d}.yaml"] = group_file(both + 1, "      - ana\n")
    org.write(files)
    org.commit(message)
    org.branch("pr")
    return org


def diff_json(org: GitOrg) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF,
                                       "--format", "json", "--no-cache"])
    return result.exit_code, json.loads(result.stdout)


def test_joining_a_thirteenth_sensitive_group_introduces_one_reach_finding_at_the_added_entry(
        tmp_path: Path) -> None:
    org = org_on_branch_pr(tmp_path, both=12, message="twelve sensitive groups for bob, thirteen for ana")
    org.edit("inventories/g13.yaml", "      - ana\n", "      - ana\n      - bob\n")
    org.commit("bob joins g13")

    code, doc = diff_json(org)

    failing = [f for f in doc["findings"] if f["change"] in ("introduced", "worsened")]
    assert [(f["rule"], f["group"], f["person"], f["location"]) for f in failing] == [
        ("sensitive-reach", None, "bob", {"file": "inventories/g13.yaml", "line": 8})]
    assert failing[0]["level"] == "warn" and code == 0  # a warn does not fail --fail-on deny
    unchanged = {(f["rule"], f["person"]) for f in doc["findings"] if f["change"] == "unchanged"}
    assert ("sensitive-reach", "ana") in unchanged


def test_a_record_change_reevaluates_that_person_and_their_groups_only(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12.3: bob's record changes in the file that also holds ana: the gate judges bob's groups
    (on each side) and bob's person-scope input, not ana's, and not the group bob is not in."""
    from checker import pipeline
    from checker.engines.embedded import EmbeddedEngine

    seen: list[tuple[str, str]] = []
    real = EmbeddedEngine.evaluate

    def counting(self: EmbeddedEngine, inputs: Any, scope: str = "group") -> Any:  # the real engine, counted
        seen.extend((scope, doc[scope]["id"]) for _, doc in inputs)
        return real(self, inputs, scope)

    monkeypatch.setattr(EmbeddedEngine, "evaluate", counting)
    keyed: list[str] = []
    real_keys = pipeline.person_keys

    def counting_keys(inv: Any, prefix: bytes, person_ids: Any = None, groups_of: Any = None) -> Any:
        keyed.extend(person_ids if person_ids is not None else inv.people)
        return real_keys(inv, prefix, person_ids, groups_of)

    monkeypatch.setattr(pipeline, "person_keys", counting_keys)
    org = org_on_branch_pr(tmp_path, both=3, message="bob in three groups, ana in four")
    org.edit("inventories/people.yaml", "{id: bob, location: US, employment: employee",
             "{id: bob, location: US, employment: contractor")
    org.commit("bob becomes a contractor")

    result = CliRunner().invoke(main, ["diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF,
                                       "--format", "github", "--no-cache"])

    assert result.exit_code == 0, result.output
    assert "not evaluated: 1 group and 1 person that the change cannot affect" in result.output
    assert sorted(seen) == sorted([("group", "g01"), ("group", "g02"), ("group", "g03")] * 2
                                  + [("person", "bob")] * 2)
    assert keyed == ["bob", "bob"]  # ana, in the same file, is not even keyed
