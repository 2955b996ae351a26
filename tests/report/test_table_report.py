"""The terminal report (--format table): golden files at 80 and 120 columns, widths, order, colour, escaping.

Regenerate the golden files with `UPDATE_GOLDEN=1 python3 -m pytest tests/report/test_table_report.py` and
read the diff before committing.
"""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from report_fixtures import (
    ENGINE,
    RULES,
    audit_result,
    awkward,
    check_golden,
    clean_diff_result,
    diff_result,
    loc,
    member_sg,
    owner_cn,
    training,
    waived,
)

from checker import report
from checker.models import Finding, RunResult
from checker.report.terminal import cells, wrap

ANSI = re.compile(r"\x1b\[[0-9;]*m")



def hostile(**changes: object) -> Finding:
    """Escape sequences, a forged workflow command and a bidi override, in a message and a file name."""
    finding = Finding("member-location", "deny", "lark-us-ops", "li.wei",
                      "member \x1b[2J\x1b]0;pwned\x07li.wei\n::warning file=x::forged\u202eevil works from CN",
                      loc("inventories/groups/evil\n::error::x\x1b[31m.yaml", 7))
    return finding.with_(**changes)


def wide(**changes: object) -> Finding:
    """A message with wide (two-cell) characters, as a person's name from a Lark tenant would give."""
    finding = Finding("member-location", "deny", "lark-cn-ops-review", "wang.wei",
                      "member 王伟 (wang.wei) of group lark-cn-ops-review works from CN, outside the staff locations "
                      "approved for users in US: 美国用户的数据只能由美国员工处理",
                      loc("inventories/groups/lark/cn-ops-review.yaml", 9))
    return finding.with_(**changes)


def rich_audit() -> RunResult:
    result = audit_result()
    return dataclasses.replace(result, findings=(*result.findings, wide(), hostile()))


def full_diff() -> RunResult:
    """Every change class, and an exception the change grants itself."""
    findings = (
        member_sg(change="introduced"),
        owner_cn(change="worsened", message="group lark-cn-ops-review holds sensitive data (government_id) for "
                                            "users in US but its owner zhang.min works from CN"),
        Finding("owner-location", "deny", "lark-us-new", None,
                       "group lark-us-new holds sensitive data for users in US but its owner works from SG",
                       loc("inventories/groups/lark/us-new.yaml", 2), waiver="w-2026-099", change="introduced",
                       waiver_change="added"),
        awkward(change="resolved"),
        training(change="unchanged"),
        waived(change="unchanged"),
    )
    meta = {"base": "origin/main", "head": "HEAD", "base_commit": "a" * 40, "head_commit": "b" * 40,
            "merge_base": "c" * 40, "policies_commit": "a" * 40}
    return RunResult("diff", "2026-11-29", ENGINE, 12, 30, findings, RULES, meta=meta)


CASES = {"audit": rich_audit, "diff": diff_result, "clean-diff": clean_diff_result, "full-diff": full_diff}


def rendered(result: RunResult, width: int | None = 80, **display: object) -> str:
    stream = io.StringIO()
    report.get("table", report.Display(width=width, **display))(result, stream)  # type: ignore[arg-type]
    return stream.getvalue()


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("case", CASES)
def test_matches_golden_and_fits_the_terminal(case: str, width: int) -> None:
    text = rendered(CASES[case](), width)
    check_golden(f"table/{case}.{width}.txt", text)
    assert max(cells(line) for line in text.splitlines()) <= width
    assert not any(line != line.rstrip() for line in text.splitlines()), "no trailing spaces"


def test_ids_are_never_wrapped_and_rows_start_with_the_line() -> None:
    text = rendered(rich_audit(), 80)
    for finding in rich_audit().findings:
        if finding.location and "\n" not in finding.location.file:
            row = re.compile(rf"^ +{finding.location.line}  (deny|warn|waived)  +{re.escape(finding.rule)} +"
                             rf"{re.escape(finding.group)}(  +{re.escape(finding.person or '')})?", re.M)
            assert row.search(text), finding


def test_grouped_by_file_in_path_order_with_one_header_each() -> None:
    text = rendered(rich_audit(), 120)
    headers = [line for line in text.splitlines() if line.startswith("inventories/")]
    assert headers == sorted(headers)
    assert len(headers) == len(set(headers))
    assert text.index("\n(no file)\n") > text.index(headers[-1]), "findings without a file come last"


def test_without_a_width_every_finding_is_one_line() -> None:
    text = rendered(rich_audit(), None)
    rows = [line for line in text.split("How to fix")[0].splitlines() if re.match(r"^ +\d*  (deny|warn|waived) ", line)]
    assert len(rows) == len(rich_audit().present)


def test_remediation_once_per_rule_of_open_findings() -> None:
    text = rendered(rich_audit(), 120)
    fixes = text.split("How to fix\n")[1].split("\n\n")[0]
    for rule, info in RULES.items():
        assert text.count(info.remediation.split(" ")[0] + " " + info.remediation.split(" ")[1]) >= 1
        assert fixes.count(f"  {rule}  ") == 1, rule
    assert "Renew the waiver" in fixes  # the checker's own rules have remediations too


def test_last_line_says_why_the_run_exits() -> None:
    assert rendered(audit_result(), 120).splitlines()[-1] == (
        "Exit 1: 4 deny findings (--fail-on deny); 4 deny, 3 warn, 1 waived.")
    warn = dataclasses.replace(audit_result(), fail_on="warn")
    assert rendered(warn, 120).splitlines()[-1].startswith("Exit 1: 7 deny or warn findings (--fail-on warn); ")
    never = dataclasses.replace(audit_result(), fail_on="never")
    assert rendered(never, 120).splitlines()[-1] == (
        "Exit 0: findings never fail the run (--fail-on never); 4 deny, 3 warn, 1 waived.")
    assert rendered(clean_diff_result(), 120).splitlines()[-1] == (
        "Exit 0: no deny finding introduced or worsened (--fail-on deny); 0 introduced, 1 resolved, 1 unchanged.")
    assert rendered(full_diff(), 120).splitlines()[-1] == (
        "Exit 1: 2 introduced and 1 worsened deny findings (--fail-on deny); 2 introduced, 1 worsened, 1 resolved, "
        "2 unchanged.")


def test_diff_sections_in_order_and_unchanged_collapsed() -> None:
    text = rendered(full_diff(), 120)
    order = ["checker diff: HEAD (bbbbbbbbbbbb) against its merge base with origin/main (cccccccccccc); policies "
             "from aaaaaaaaaaaa",
             "Introduced (1)", "Worsened (1)", "Exceptions this change grants (1)", "Resolved (1)",
             "Unchanged: 2 findings"]
    positions = [text.index(title) for title in order]
    assert positions == sorted(positions)
    assert "w-2026-099, added by this change" in text
    assert "mei.chen" not in text.split("How to fix")[0], "unchanged findings are counted, not listed"
    bootstrap = dataclasses.replace(full_diff(), meta={**full_diff().meta, "bootstrap": True})
    assert rendered(bootstrap, 120).startswith("Bootstrap: the base has no policies")
    shown = rendered(full_diff(), 120, show_unchanged=True)
    assert "Unchanged (2)" in shown and "mei.chen" in shown


def test_control_characters_are_escaped_never_raw() -> None:
    for width in (None, 80):
        for color in ("never", "always"):
            text = ANSI.sub("", rendered(rich_audit(), width, color=color))
            assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
            assert not any(line.lstrip().startswith("::") for line in text.splitlines())
            flat = text.replace("\n", "").replace(" ", "")
            assert "\\x1b[2J\\x1b]0;pwned\\x07li.wei\\n::warning" in flat
            assert "inventories/groups/evil\\n::error::x\\x1b[31m.yaml" in text
            assert "\\u202eevil" in flat


def test_colour_only_when_asked_or_on_a_terminal() -> None:
    coloured = rendered(audit_result(), 120, color="always")
    assert "\x1b[1;31mdeny\x1b[0m" in coloured and "\x1b[36mowner-location\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == rendered(audit_result(), 120, color="never")
    assert "\x1b" not in rendered(audit_result(), 120, color="auto")  # a StringIO is no terminal


@pytest.mark.parametrize("text, width, expected", [
    ("a b c", 10, ["a b c"]),
    ("alpha beta gamma", 10, ["alpha beta", "gamma"]),
    ("abcdefghijklmnopqrstuvwxyz", 10, ["abcdefghij", "klmnopqrst", "uvwxyz"]),
    ("王伟王伟王伟 abc", 8, ["王伟王伟", "王伟 abc"]),
    ("x", None, ["x"]),
])
def test_wrap(text: str, width: int | None, expected: list[str]) -> None:
    assert wrap(text, width) == expected
    assert all(cells(line) <= (width or 10**9) for line in expected)
