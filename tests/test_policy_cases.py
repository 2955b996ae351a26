"""Every rule family's table-driven cases, each a test, on the embedded engine (and checker test's CLI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checker import cases, policies
from checker.cases import Case
from checker.engines import EngineOptions, PolicyEngine, make_engine
from tests.conftest import ROOT, run_checker

POLICY_SET = policies.load_dir(ROOT / "policies", "policies")
CASES = [case for path in POLICY_SET.case_files
         for case in cases.load(path, POLICY_SET.case_sources[path], POLICY_SET.rules)]


@pytest.fixture(scope="module")
def engine() -> Iterator[PolicyEngine]:
    made = make_engine("embedded", POLICY_SET, EngineOptions(jobs=1))
    yield made
    made.close()


def test_every_rule_family_has_cases_and_rego_tests() -> None:
    families = {r.rule_id for r in POLICY_SET.rules.values()}
    assert len(families) == 11
    assert {c.rule for c in CASES} == families
    test_files = {m.path for m in POLICY_SET.test_modules}
    for rule in POLICY_SET.rules.values():
        assert rule.file.replace(".rego", "_test.rego") in test_files
        assert rule.title and rule.description and rule.remediation and rule.severity


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}: {c.name}" for c in CASES])
def test_case(engine: PolicyEngine, case: Case) -> None:
    raw = engine.evaluate([(case.key, case.input())], case.scope)[case.key]
    outcome = cases.outcome(case, raw)
    assert outcome.passed, outcome.explain()


def test_checker_test_command_passes_on_the_shipped_pack() -> None:
    proc = run_checker("test", "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(CASES)} passed, 0 failed" in proc.stdout


def test_checker_test_command_fails_on_a_wrong_expectation(example_repo) -> None:
    path = example_repo / "policies" / "access" / "departed_owner" / "departed_owner_test.yaml"
    text = path.read_text()
    path.write_text(text.replace("findings: []", "findings: [{level: deny}]", 1))
    assert text != path.read_text()
    proc = run_checker("test", cwd=example_repo)
    assert proc.returncode == 1
    assert "FAIL departed-owner" in proc.stdout and "missing deny" in proc.stdout


def test_coverage_threshold_is_not_rounded_up() -> None:
    from checker.commands.test import coverage_verdict

    line, below = coverage_verdict(99.95, 100)
    assert below and "99.95%" in line and "100.00%" not in line
    line, below = coverage_verdict(99.999, 100)
    assert below and "99.99%" in line
    assert coverage_verdict(100.0, 100) == ("coverage: 100.00% of policy lines (threshold 100%)", False)
    assert not coverage_verdict(80.0, 75)[1]


def test_coverage_on_an_engine_that_cannot_measure_it_fails_closed() -> None:
    proc = run_checker("test", "--coverage", "50")
    assert proc.returncode == 2
    assert "--engine opa" in proc.stderr
