"""Every rule family's table-driven cases, each a test, on the embedded engine (and checker test's CLI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checker import cases, policies
from checker.cases import Case
from checker.engines import EngineOptions, PolicyEngine, make_engine
from checker.errors import PolicyError
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


PERSON = "{{id: {id}, location: US, employment: employee, status: {status}, trainings: {{privacy: '2026-03-02'}}}}"


def _flow_case(name: str, status: str, findings: str) -> str:
    owner = PERSON.format(id="o", status=status)
    return (f"{{name: {name}, group: {{id: g, platform: lark, kind: chat, data_classes: [user_pii], "
            f"subject_jurisdictions: [US], owner: {owner}, members: [{owner}]}}, findings: {findings}}}")


def test_two_flow_style_cases_on_one_line_are_judged_apart(example_repo) -> None:
    """Keyed by file:line, both cases were judged against the second one's evaluation: a wrong case passed."""
    wrong = _flow_case("departed owner wrongly expected clean", "departed", "[]")
    right = _flow_case("active owner", "active", "[]")
    path = example_repo / "policies" / "access" / "departed_owner" / "departed_owner_test.yaml"
    path.write_text(f"cases: [{wrong}, {right}]\n")
    proc = run_checker("test", cwd=example_repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ("FAIL departed-owner: departed owner wrongly expected clean "
            "(policies/access/departed_owner/departed_owner_test.yaml:1): unexpected deny") in proc.stdout
    assert "FAIL departed-owner: active owner" not in proc.stdout


def test_case_keys_are_distinct_for_cases_on_one_line() -> None:
    text = f"cases: [{_flow_case('a', 'active', '[]')}, {_flow_case('b', 'departed', '[{level: deny}]')}]\n"
    loaded = cases.load("p/departed_owner_test.yaml", text.encode(), POLICY_SET.rules)
    assert [c.line for c in loaded] == [1, 1] and len({c.key for c in loaded}) == 2


def test_a_duplicate_case_name_is_refused() -> None:
    text = f"cases:\n  - {_flow_case('same', 'active', '[]')}\n  - {_flow_case('same', 'departed', '[]')}\n"
    with pytest.raises(PolicyError) as exc:
        cases.load("p/departed_owner_test.yaml", text.encode(), POLICY_SET.rules)
    assert [(p.line, "'same' of rule departed-owner is already defined at line 2" in p.message)
            for p in exc.value.problems] == [(3, True)]


def test_a_duplicate_case_name_across_files_is_refused(example_repo) -> None:
    family = example_repo / "policies" / "access" / "departed_owner"
    (family / "more_test.yaml").write_text(
        f"cases:\n  - {_flow_case('departed owner of a group with user PII', 'active', '[]')[:-1]}, "
        "rule: departed-owner}\n")
    proc = run_checker("test", cwd=example_repo)
    assert proc.returncode == 2
    family_path = "policies/access/departed_owner"
    assert (f"{family_path}/more_test.yaml:2: case 'departed owner of a group with user PII' of rule departed-owner "
            f"is already defined at {family_path}/departed_owner_test.yaml:8") in proc.stderr


@pytest.mark.parametrize(("as_of", "words"), [("2300-01-01", "is not between 1900-01-01 and 2199-12-31"),
                                               ("'2026-02-30'", "is not a real date")])
def test_a_case_as_of_outside_the_date_range_is_refused_with_its_line(as_of: str, words: str) -> None:
    text = f"cases:\n  - {_flow_case('far', 'active', '[]')[:-1]},\n     as_of: {as_of}}}\n"
    with pytest.raises(PolicyError) as exc:
        cases.load("p/departed_owner_test.yaml", text.encode(), POLICY_SET.rules)
    assert [(p.line, p.message) for p in exc.value.problems] == [
        (3, f"case 'far': as_of '{as_of.strip(chr(39))}' {words}")]
