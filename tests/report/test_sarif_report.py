from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_fixtures import (
    ENGINE,
    RULES,
    audit_result,
    clean_diff_result,
    diff_result,
    member_sg,
    owner_cn,
)

from checker import __version__
from checker.models import Finding, Location, RunResult
from checker.report import sarif

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def empty_audit() -> RunResult:
    return RunResult("audit", "2026-11-29", ENGINE, 0, 0, ())


def sarif_doc(result: RunResult) -> dict[str, Any]:
    stream = io.StringIO()
    sarif.render(result, stream)
    return json.loads(stream.getvalue())  # type: ignore[no-any-return]


@pytest.mark.parametrize("result", [audit_result(), diff_result(), clean_diff_result(), empty_audit()],
                         ids=["audit", "diff", "clean-diff", "empty-audit"])
def test_validates_against_the_sarif_schema(result: RunResult) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(sarif_doc(result)), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_is_the_real_one() -> None:
    """Guard against validating against a stub: a broken document must fail."""
    doc = sarif_doc(audit_result())
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(doc))


def test_driver_and_rules() -> None:
    driver = sarif_doc(audit_result())["runs"][0]["tool"]["driver"]
    assert driver["name"] == "checker" and driver["version"] == __version__
    ids = [rule["id"] for rule in driver["rules"]]
    assert set(RULES) | {"waiver-expired", "waiver-unused"} <= set(ids)
    assert "departed-owner" in ids  # named by a finding but without metadata: still described
    assert len(ids) == len(set(ids))
    owner = driver["rules"][ids.index("owner-location")]
    assert owner["shortDescription"]["text"] == RULES["owner-location"].title
    assert owner["fullDescription"]["text"] == RULES["owner-location"].description
    assert owner["help"]["text"] == RULES["owner-location"].remediation
    assert owner["defaultConfiguration"]["level"] == "error"
    assert owner["properties"]["security-severity"] == "8.0"
    training = driver["rules"][ids.index("training-expired")]
    assert training["defaultConfiguration"]["level"] == "warning"
    assert float(training["properties"]["security-severity"]) < 4.0  # GitHub's "low" band


def test_results_point_at_their_rule_and_line() -> None:
    run = sarif_doc(audit_result())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(audit_result().present)
    for item in run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
    member = next(r for r in run["results"] if r["ruleId"] == "member-location")
    assert member["level"] == "error"
    assert member["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "inventories/groups/lark/us-ttsafety.yaml"}, "region": {"startLine": 12}}
    odd = next(r for r in run["results"] if r["ruleId"] == "sensitive-group-size")
    assert odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "inventories/groups/odd%2C%20name%3A%20v2.yaml"
    unlocated = next(r for r in run["results"] if r["ruleId"] == "departed-owner")
    assert "locations" not in unlocated


def test_waived_findings_are_suppressed_results() -> None:
    results = sarif_doc(audit_result())["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["properties"]["waiver"] for r in suppressed] == ["w-2026-014"]
    assert suppressed[0]["suppressions"][0]["kind"] == "external"
    assert "w-2026-014" in suppressed[0]["suppressions"][0]["justification"]
    assert all("baselineState" not in r for r in results)  # audit: no baseline


def test_diff_reports_only_head_findings_with_baseline_state() -> None:
    result = diff_result()
    results = sarif_doc(result)["runs"][0]["results"]
    assert all(r["ruleId"] != "sensitive-group-size" for r in results)  # the resolved finding
    states = {(r["ruleId"], r["properties"]["group"]): r["baselineState"] for r in results}
    assert states == {
        ("member-location", "lark-us-ttsafety-escalations"): "new",
        ("training-expired", "lark-us-ttsafety-escalations"): "new",
        ("waiver-unused", "slack-us-payments"): "new",
        ("owner-location", "lark-cn-ops-review"): "unchanged",
        ("owner-location", "lark-cn-legal"): "unchanged",
    }
    props = sarif_doc(result)["runs"][0]["properties"]
    assert props["policies_changed"] is True and props["policy_impact"] == {"added": 1, "dropped": 1}


def fingerprint(result: RunResult) -> str:
    return sarif_doc(result)["runs"][0]["results"][0]["partialFingerprints"]["checkerFindingIdentity/v1"]


def one(finding: Finding) -> RunResult:
    return RunResult("audit", "2026-11-29", ENGINE, 1, 1, (finding,))


def test_fingerprint_follows_identity_not_text_or_line() -> None:
    base = fingerprint(one(member_sg()))
    assert fingerprint(one(member_sg(message="reworded", location=Location("moved.yaml", 99)))) == base
    assert fingerprint(one(member_sg(change="unchanged", level="warn"))) == base
    assert fingerprint(one(member_sg(person="someone.else"))) != base
    assert fingerprint(one(member_sg(group="other-group"))) != base
    assert fingerprint(one(owner_cn())) != fingerprint(one(owner_cn(rule="departed-owner")))


def test_exit_code_follows_the_runs_fail_on() -> None:
    result = audit_result()
    recorded = RunResult(**{**result.__dict__, "fail_on": "deny"})
    assert sarif_doc(recorded)["runs"][0]["invocations"][0]["exitCode"] == result.exit_code("deny") == 1
    never = RunResult(**{**result.__dict__, "fail_on": "never"})
    assert sarif_doc(never)["runs"][0]["invocations"][0]["exitCode"] == 0


def test_only_scalar_meta_goes_into_run_properties() -> None:
    result = diff_result()
    bulky = RunResult(**{**result.__dict__, "meta": {**result.meta, "head_commit": "abc123",
                                                     "groups": [{"id": "g1", "members": 3}]}})
    props = sarif_doc(bulky)["runs"][0]["properties"]
    assert props["base"] == "origin/main" and props["head_commit"] == "abc123"
    assert "groups" not in props


def many_findings(count: int) -> RunResult:
    """deny, warn and waived findings in an audit, interleaved, and in a diff some introduced."""
    findings = []
    for i in range(count):
        level = "deny" if i % 3 == 0 else "warn"
        findings.append(Finding("member-location" if level == "deny" else "training-expired", level, f"g{i:05d}",
                                f"p{i}", f"message {i}", Location(f"inventories/groups/g{i}.yaml", 3),
                                waived=i % 7 == 0, waiver="w1" if i % 7 == 0 else None))
    return RunResult("audit", "2026-11-29", ENGINE, count, count, tuple(findings), RULES)


def rank(item: dict[str, Any]) -> tuple[int, int, int]:
    """SPEC §9's order: introduced (new/updated) first, then deny, then warn, then waived."""
    new = item.get("baselineState") in ("new", "updated") and "suppressions" not in item
    return (0 if new else 1, 1 if "suppressions" in item else 0, {"error": 0, "warning": 1}[item["level"]])


@pytest.mark.parametrize("result", [many_findings(40), audit_result(), diff_result()], ids=["many", "audit", "diff"])
def test_results_come_in_the_spec_order(result: RunResult) -> None:
    results = sarif_doc(result)["runs"][0]["results"]
    assert [rank(r) for r in results] == sorted(rank(r) for r in results)
    assert results[0]["level"] == "error"


def test_diff_puts_introduced_before_unchanged_deny() -> None:
    results = sarif_doc(diff_result())["runs"][0]["results"]
    states = [r["baselineState"] for r in results]
    assert states == ["new", "new", "new", "unchanged", "unchanged"]
    assert results[-1]["suppressions"]  # the waived one last


def capped(result: RunResult, cap: int) -> dict[str, Any]:
    return sarif_doc(RunResult(**{**result.__dict__, "meta": {sarif.MAX_RESULTS_META: cap}}))


def test_the_cap_keeps_the_most_important_and_says_how_many_were_left_out() -> None:
    result = many_findings(100)
    full = sarif_doc(result)["runs"][0]["results"]
    doc = capped(result, 10)
    run = doc["runs"][0]
    assert run["results"] == full[:10]
    assert all(r["level"] == "error" and "suppressions" not in r for r in run["results"])
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"].startswith("90 more results were left out")
    assert run["properties"]["resultsLeftOut"] == 90
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert not list(validator.iter_errors(doc))


def test_the_default_cap_is_5000_and_never_above_the_upload_limit() -> None:
    result = many_findings(5_003)
    run = sarif_doc(result)["runs"][0]
    assert len(run["results"]) == 5_000
    assert "3 more results" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert sarif.max_results(RunResult(**{**result.__dict__, "meta": {sarif.MAX_RESULTS_META: 10**6}})) == 25_000
    assert "toolExecutionNotifications" not in sarif_doc(many_findings(30))["runs"][0]["invocations"][0]


def test_rules_have_names_and_no_made_up_information_uri() -> None:
    driver = sarif_doc(audit_result())["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver
    names = {rule["id"]: rule["name"] for rule in driver["rules"]}
    assert names["owner-location"] == "OwnerLocation" and names["waiver-unused"] == "WaiverUnused"


def test_a_worsened_finding_is_an_updated_result() -> None:
    worse = member_sg(change="worsened")
    doc = sarif_doc(RunResult("diff", "2026-11-29", ENGINE, 1, 1, (worse,), RULES))
    (item,) = doc["runs"][0]["results"]
    assert item["baselineState"] == "updated" and item["level"] == "error"


def test_a_run_that_could_not_be_completed_is_valid_sarif_with_its_problems() -> None:
    from checker.errors import Problem

    problems = [Problem("inventories/groups/a b.yaml", 7, "owner: unknown person x"),
                Problem("", None, "the policies do not load")]
    stream = io.StringIO()
    sarif.render_problems("validate", problems, stream)
    doc = json.loads(stream.getvalue())
    assert not list(jsonschema.Draft7Validator(SCHEMA).iter_errors(doc))
    run = doc["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    assert [n["message"]["text"] for n in invocation["toolExecutionNotifications"]] == [str(p) for p in problems]
    (result,) = run["results"]  # only the problem with a file is a result on a line
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "inventories/groups/a%20b.yaml"}, "region": {"startLine": 7}}
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
