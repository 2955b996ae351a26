from __future__ import annotations

import io
import re

import pytest
from report_fixtures import (
    ENGINE,
    audit_result,
    awkward,
    clean_diff_result,
    diff_result,
    member_sg,
    training,
    waived,
    waiver_unused,
)

from checker.models import Finding, Location, RunResult
from checker.report import github
from checker.report.github import escape_data, escape_property

COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def output(result: RunResult) -> list[str]:
    stream = io.StringIO()
    github.render(result, stream)
    return stream.getvalue().splitlines()


def unescape(value: str) -> str:
    """What the runner does to a property value or message (actions/runner, reverse of the toolkit)."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, raw)
    return value


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, f"not a workflow command: {line!r}"
    props = {}
    if match.group(2):
        for pair in match.group(2).split(","):  # commas inside values are escaped, so this split is exact
            key, _, value = pair.partition("=")
            props[key] = unescape(value)
    return match.group(1), props, unescape(match.group(3))


@pytest.mark.parametrize(("raw", "data", "prop"), [
    ("plain", "plain", "plain"),
    ("100%", "100%25", "100%25"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("k: v, w", "k: v, w", "k%3A v%2C w"),
    ("%0A literal", "%250A literal", "%250A literal"),  # already-escaped-looking text stays literal
    ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
])
def test_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop
    assert unescape(prop) == raw


def test_a_message_cannot_inject_a_second_command() -> None:
    evil = member_sg(message="x\n::error file=evil.yaml::injected\r\n::add-mask::y")
    lines = output(RunResult("audit", "2026-11-29", ENGINE, 1, 1, (evil,)))
    assert len(lines) == 2  # one annotation and the summary
    assert parse(lines[0])[2] == evil.message
    assert not lines[1].startswith("::")


def test_audit_annotations() -> None:
    result = audit_result()
    lines = output(result)
    annotations = [parse(line) for line in lines[:-1]]
    assert len(annotations) == len(result.present)
    kinds = [kind for kind, _, _ in annotations]
    assert kinds == sorted(kinds, key=["error", "warning", "notice"].index)  # errors first
    assert kinds.count("error") == 4 and kinds.count("warning") == 3 and kinds.count("notice") == 1
    by_rule = {props["title"].split(":")[0]: (kind, props, message) for kind, props, message in annotations
               if kind != "notice"}
    kind, props, message = by_rule["sensitive-group-size"]
    assert kind == "error"
    assert props["file"] == "inventories/groups/odd, name: v2.yaml" and props["line"] == "3"
    assert props["title"] == "sensitive-group-size: Too many members for the data held"
    assert message == awkward().message
    assert "file" not in by_rule["departed-owner"][1]  # no location: no position, still annotated
    [(_, props, message)] = [a for a in annotations if a[0] == "notice"]
    assert message == "waived by w-2026-014: " + waived().message
    assert props["file"] == "inventories/groups/lark/cn-legal.yaml"
    assert lines[-1] == "checker audit: 12 groups, 30 people as of 2026-11-29: 4 deny, 3 warn, 1 waived"


def test_diff_annotates_only_introduced_findings_and_resolved_as_notices() -> None:
    lines = output(diff_result())
    annotations = [parse(line) for line in lines[:-1]]
    errors = [a for a in annotations if a[0] == "error"]
    warnings = [a for a in annotations if a[0] == "warning"]
    notices = [a for a in annotations if a[0] == "notice"]
    assert [a[2] for a in errors] == [member_sg().message]
    assert {a[2] for a in warnings} == {training().message, waiver_unused().message}
    assert len(notices) == 1 and notices[0][2] == "resolved: " + awkward().message
    assert "file" not in notices[0][1]  # the resolved finding's line is the base's, not the head's
    assert all("lark-cn-ops-review" not in a[2] for a in annotations)  # unchanged: summary only
    assert lines[-1].startswith("checker diff: ") and "3 introduced (1 deny, 2 warn, 0 waived)" in lines[-1]
    assert "policies changed" in lines[-1]


def test_diff_waived_introduced_finding_is_a_notice() -> None:
    finding = Finding("owner-location", "deny", "g1", None, "m", Location("f.yaml", 2), waived=True,
                      waiver="w1", change="introduced")
    lines = output(RunResult("diff", "2026-11-29", ENGINE, 1, 1, (finding,)))
    assert parse(lines[0])[0] == "notice"


def test_clean_diff_has_no_error_or_warning() -> None:
    lines = output(clean_diff_result())
    assert not any(line.startswith(("::error", "::warning")) for line in lines)
