"""Adversarial regression tests (issue 9's variants): a change that should fail the gate, on real
temp git repositories judged by the shipped policy pack through the real command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from testing.gitorg import GitOrg
from tests.conftest import ROOT, run_checker

AS_OF = "2026-11-29"


def _people(count: int) -> str:
    lines = ["people:"]
    for i in range(count):
        lines += [f"  - id: p{i:04d}", "    location: US", "    employment: employee",
                  "    trainings: {privacy: 2026-06-01}"]
    return "\n".join(lines) + "\n"


def _group(gid: str, members: list[str], classes: str) -> str:
    listed = "\n".join(f"      - {m}" for m in members)
    return (f"groups:\n  - id: {gid}\n    platform: lark\n    kind: document-space\n    owner: {members[0]}\n"
            f"    members:\n{listed}\n    data_classes: [{classes}]\n    subject_jurisdictions: [US]\n"
            f"    reviewed: {{on: 2026-10-01, by: {members[1]}}}\n")


def _org(root: Path, files: dict[str, str]) -> GitOrg:
    """The shipped policy pack and these inventory files on `main`, then a branch `pr`."""
    org = GitOrg(root)
    shutil.copytree(ROOT / "policies", root / "policies")
    org.write(files)
    org.commit("the organisation")
    org.branch("pr")
    return org


def _diff(org: GitOrg) -> tuple[int, Any]:
    proc = run_checker("diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF, "--format", "json",
                       "--no-cache", "--jobs", "1")
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else proc.stderr


def _changes(doc: Any) -> set[tuple[str, str, str | None]]:
    return {(f["change"], f["rule"], f["group"]) for f in doc["findings"]}


# ---------------------------------------------------------------- worse is not "unchanged"


def test_oversized_group_that_takes_stricter_data_is_worsened(tmp_path: Path) -> None:
    """The motivating incident: driver's licences posted into an already oversized user-data group.
    Its member count stays (or even drops by one), but it is now over a limit four times smaller:
    the change must fail, not pass as `unchanged` because the member count did not grow."""
    members = [f"p{i:04d}" for i in range(210)]  # 210 > 200 (user_pii)
    org = _org(tmp_path / "repo", {"inventories/people.yaml": _people(210),
                                   "inventories/big.yaml": _group("big", members, "user_pii")})
    org.write({"inventories/big.yaml": _group("big", members[:-1], "user_pii, government_id")})  # 209 > 50
    org.commit("government ids in the big group, one member fewer")
    code, doc = _diff(org)
    assert code == 1, doc
    assert ("worsened", "sensitive-group-size", "big") in _changes(doc)


def test_oversized_group_that_shrinks_still_passes(tmp_path: Path) -> None:
    members = [f"p{i:04d}" for i in range(210)]
    org = _org(tmp_path / "repo", {"inventories/people.yaml": _people(210),
                                   "inventories/big.yaml": _group("big", members, "user_pii")})
    org.write({"inventories/big.yaml": _group("big", members[:-5], "user_pii")})
    org.commit("five members leave")
    code, doc = _diff(org)
    assert code == 0, doc
    assert _changes(doc) == {("unchanged", "sensitive-group-size", "big")}
