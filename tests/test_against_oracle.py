"""The checker's findings equal an independent Python reading of SPEC §4-5 (testing/oracle.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from testing.oracle import expected_findings
from testing.orggen import generate_org
from tests.conftest import ROOT, run_checker

AS_OF = "2026-11-29"


def identities(findings: list[dict]) -> Counter:
    return Counter((f["rule"], f["level"], f["group"], f["person"], f["waived"], f["waiver"]) for f in findings)


def checker_findings(inventories: Path, as_of: str, *extra: str) -> list[dict]:
    proc = run_checker("audit", "--inventories", str(inventories), "--policies", str(ROOT / "policies"),
                       "--as-of", as_of, "--format", "json", "--fail-on", "never", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["findings"]


def policy_data() -> dict:
    return yaml.safe_load((ROOT / "policies" / "data.yaml").read_text())


@pytest.mark.parametrize("as_of", [AS_OF, "2027-06-01"])
def test_example_org_matches_the_oracle(as_of: str) -> None:
    got = checker_findings(ROOT / "inventories", as_of)
    assert identities(got) == identities(expected_findings(ROOT / "inventories", policy_data(), as_of))


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_org_matches_the_oracle(tmp_path: Path, seed: int) -> None:
    generate_org(tmp_path / "org", groups=400, seed=seed)
    got = checker_findings(tmp_path / "org", AS_OF, "--jobs", "2")
    want = expected_findings(tmp_path / "org", policy_data(), AS_OF)
    assert len(want) > 100  # the generated org exercises the rules
    assert {f["rule"] for f in want} >= {"owner-location", "member-location", "training-expired"}
    assert identities(got) == identities(want)


def in_process_findings(inventories: Path, as_of: str) -> list:
    from checker import pipeline
    from checker.engines import EngineOptions, make_engine

    policy_set = pipeline.load_policies(ROOT / "policies", "policies")
    inv = pipeline.load_inventory(inventories, policy_set, "inventories")
    engine = make_engine("embedded", policy_set, EngineOptions(jobs=2))
    try:
        return pipeline.findings(lambda: engine, inv, as_of, policy_set.rules)
    finally:
        engine.close()


def test_measures_and_person_scope_match_the_oracle(tmp_path: Path) -> None:
    """SPEC §3/§7: elements carry `measure` where a finding can grow or shrink; person-scope findings
    have group None. Compared in process, since the JSON report does not show measures."""
    generate_org(tmp_path / "org", groups=400, seed=5)
    for inventories in (ROOT / "inventories", tmp_path / "org"):
        got = Counter((f.rule, f.group, f.person, f.measure) for f in in_process_findings(inventories, AS_OF))
        want = Counter((f["rule"], f["group"], f["person"], f["measure"])
                       for f in expected_findings(inventories, policy_data(), AS_OF))
        assert got == want
        measured = {rule for rule, _g, _p, measure in want if measure is not None}
        assert measured >= {"access-review-overdue", "sensitive-reach", "training-expired"}
    assert any(rule == "sensitive-group-size" and m for rule, _g, _p, m in got)
