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


def seventy_two(command: str = "audit") -> RunResult:
    """72 findings: 30 deny, 30 warn, 12 waived (in a diff: all introduced, plus 5 resolved)."""
    findings = []
    for i in range(72):
        level = "deny" if i < 30 or i >= 60 else "warn"
        findings.append(Finding("member-location" if level == "deny" else "training-expired", level, f"g{i:02d}",
                                f"p{i}", f"finding {i}", Location(f"inventories/groups/g{i:02d}.yaml", 2),
                                waived=i >= 60, waiver="w1" if i >= 60 else None,
                                change="introduced" if command == "diff" else None))
    if command == "diff":
        findings += [member_sg(group=f"r{i}", change="resolved") for i in range(5)]
        findings += [member_sg(group=f"u{i}", change="unchanged") for i in range(3)]
    return RunResult(command, "2026-11-29", ENGINE, 72, 72, tuple(findings))


@pytest.mark.parametrize("command", ["audit", "diff"])
def test_72_findings_stay_within_githubs_limits_with_a_count_of_the_rest(command: str) -> None:
    lines = output(seventy_two(command))
    annotations = [parse(line) for line in lines if line.startswith("::")]
    kinds = [kind for kind, _, _ in annotations]
    assert kinds.count("error") == 10 and kinds.count("warning") == 10 and kinds.count("notice") <= 10
    assert kinds == sorted(kinds, key=["error", "warning", "notice"].index)  # errors first
    # the ten errors are the first ten deny findings, in order
    assert [message for kind, _, message in annotations if kind == "error"] == [f"finding {i}" for i in range(10)]
    kind, props, message = annotations[-1]
    assert kind == "notice" and props["title"] == "checker: more annotations"
    rest = 72 - 20 - (kinds.count("notice") - 1) + (5 if command == "diff" else 0)
    assert message.startswith(f"{rest} findings more not annotated here (20 errors, 20 warnings, ")
    assert "job summary" in message
    assert not lines[-1].startswith("::")


def test_within_the_limits_nothing_is_counted() -> None:
    assert not any("more not annotated" in line for line in output(audit_result()))


def test_problems_are_errors_on_their_lines_within_the_limits() -> None:
    from checker.errors import Problem

    problems = [Problem(f"inventories/g{i}.yaml", i + 1, f"problem {i}") for i in range(12)]
    problems.append(Problem("", None, "no file\n::warning::forged"))
    stream = io.StringIO()
    github.render_problems("validate", problems, stream)
    lines = stream.getvalue().splitlines()
    annotations = [parse(line) for line in lines if line.startswith("::")]
    assert [a[0] for a in annotations] == ["error"] * 10 + ["notice"]
    assert annotations[0][1] == {"file": "inventories/g0.yaml", "line": "1",
                                 "title": "checker validate: could not be run"}
    assert "3 problems more not annotated here" in annotations[-1][2]
    assert lines[-1] == "checker validate: could not be run (exit 2): 13 problems"


def test_control_characters_cannot_move_the_log() -> None:
    evil = member_sg(message="a\x1b[2K\x00b\u2028c", location=Location("x\x1by.yaml", 1))
    (line, _) = output(RunResult("audit", "2026-11-29", ENGINE, 1, 1, (evil,)))
    assert "\x1b" not in line and "\x00" not in line and "\u2028" not in line
    assert parse(line)[2] == "a\\x1b[2K\\x00b\\u2028c"
