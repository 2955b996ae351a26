from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from report_fixtures import ENGINE, audit_result, awkward, clean_diff_result, diff_result, member_sg, training

from checker.models import Finding, RunResult
from checker.report import junit


def parsed(result: RunResult) -> ET.Element:
    stream = io.StringIO()
    junit.render(result, stream)
    text = stream.getvalue()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))  # a parse error fails the test: the XML must be well formed


def suite_of(root: ET.Element) -> ET.Element:
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "checker"
    return suites[0]


def cases_of(root: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in suite_of(root).findall("testcase")}


def assert_counts_match(root: ET.Element) -> None:
    suite = suite_of(root)
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
    assert suite.get("errors") == "0" and suite.get("skipped") == "0"
    for attr in ("tests", "failures", "errors", "skipped"):
        assert root.get(attr) == suite.get(attr)
    for case in cases:
        assert len(case.findall("failure")) <= 1


def test_audit_cases_per_group() -> None:
    result = audit_result()
    root = parsed(result)
    assert_counts_match(root)
    cases = cases_of(root)
    groups = {f.group for f in result.present}
    assert set(cases) == groups | {"all other groups"}
    assert all(c.get("classname") == "checker.audit" for c in cases.values())
    failing = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failing == {"gg-finance", "lark-cn-ops-review", "lark-us-ttsafety-escalations", "slack-all-hands"}
    assert suite_of(root).get("failures") == "4" and suite_of(root).get("tests") == "7"
    # a failing group's failure text lists all its findings, the warn one included
    text = cases["lark-us-ttsafety-escalations"].findtext("failure") or ""
    assert member_sg().message in text and training().message in text
    # waived-only and warn-only groups pass and show their findings in system-out
    assert "w-2026-014" in (cases["lark-cn-legal"].findtext("system-out") or "")
    assert "waiver-unused" in (cases["slack-us-payments"].findtext("system-out") or "")
    assert "6 other groups" in (cases["all other groups"].findtext("system-out") or "")


def test_escaping_round_trips() -> None:
    cases = cases_of(parsed(audit_result()))
    failure = cases["slack-all-hands"].find("failure")
    assert failure is not None
    assert awkward().message.replace("\r\n", "\n") in (failure.text or "")
    assert "<b>note</b>" in (failure.text or "")  # escaped on the way out, intact on the way back


def test_control_characters_and_attribute_quotes() -> None:
    finding = Finding("owner-location", "deny", "g1", None, 'bell\x07 "quoted" <tag> & \x00nul')
    root = parsed(RunResult("audit", "2026-11-29", ENGINE, 1, 1, (finding,)))
    failure = cases_of(root)["g1"].find("failure")
    assert failure is not None and '"quoted" <tag> &' in (failure.text or "")
    assert "\x07" not in (failure.text or "")


def test_diff_fails_only_for_introduced_findings() -> None:
    root = parsed(diff_result())
    assert_counts_match(root)
    cases = cases_of(root)
    assert all(c.get("classname") == "checker.diff" for c in cases.values())
    assert {n for n, c in cases.items() if c.find("failure") is not None} == {"lark-us-ttsafety-escalations"}
    # unchanged deny finding: reported, not failed (the diff's exit code ignores it too)
    assert "unchanged" in (cases["lark-cn-ops-review"].findtext("system-out") or "")
    assert "slack-all-hands" not in cases  # resolved: not present at the head


def test_fail_on_recorded_by_the_command_is_followed() -> None:
    result = diff_result()
    warn = RunResult(**{**result.__dict__, "fail_on": "warn"})
    failing = {n for n, c in cases_of(parsed(warn)).items() if c.find("failure") is not None}
    assert failing == {"lark-us-ttsafety-escalations", "slack-us-payments"}
    never = RunResult(**{**result.__dict__, "fail_on": "never"})
    assert suite_of(parsed(never)).get("failures") == "0"


def test_clean_diff_and_empty_audit_pass() -> None:
    root = parsed(clean_diff_result())
    assert_counts_match(root)
    assert suite_of(root).get("failures") == "0"
    empty = parsed(RunResult("audit", "2026-11-29", ENGINE, 5, 9, ()))
    assert list(cases_of(empty)) == ["all other groups"]
    assert "5 other groups" in (cases_of(empty)["all other groups"].findtext("system-out") or "")


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github", "markdown", "json"])
def test_a_person_finding_without_a_group_renders_in_every_format(fmt: str) -> None:
    """SPEC §3: a person-scope finding may name no group."""
    from checker import report

    result = RunResult("audit", "2026-11-29", ENGINE, 3, 3, (training(group=None), training(group="g1")))
    stream = io.StringIO()
    report.get(fmt)(result, stream)
    assert "mei.chen" in stream.getvalue()
