from __future__ import annotations

import dataclasses
import io

import pytest
from report_fixtures import ENGINE, RULES, audit_result, awkward, clean_diff_result, diff_result, member_sg, training

from checker.models import Finding, Location, RunResult
from checker.report import markdown


def md(result: RunResult) -> str:
    stream = io.StringIO()
    markdown.render(result, stream)
    return stream.getvalue()


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| level")]


def test_diff_order_introduced_resolved_unchanged_impact() -> None:
    text = md(diff_result())
    positions = [text.index(marker) for marker in
                 ("## ❌ 3 findings introduced", "### Introduced (3)", "### Resolved (1)",
                  "<summary>Unchanged (2)</summary>", "### Policy impact")]
    assert positions == sorted(positions)
    unchanged = text[text.index("<details>"):text.index("</details>")]
    assert "lark-cn-ops-review" in unchanged and "tan.wei" not in unchanged


def test_impact_section_only_when_policies_changed() -> None:
    assert "Policy impact" in md(diff_result(policies_changed=True))
    assert "Policy impact" not in md(diff_result(policies_changed=False))
    assert "Policy impact" not in md(audit_result())
    text = md(diff_result())
    impact = text[text.index("### Policy impact"):]
    assert "would add 1 and drop 1" in impact
    assert "| would add | deny | `member-location` | `slack-us-payments` | `ana.ruiz` |" in impact


def test_verdicts() -> None:
    assert md(clean_diff_result()).startswith("## ✅ no new findings\n")
    warn_only = RunResult("diff", "2026-11-29", ENGINE, 1, 1, (
        Finding("training-expired", "warn", "g1", "p1", "m", change="introduced"),))
    assert md(warn_only).startswith("## ⚠️ 1 finding introduced\n")  # not failing at the default deny
    warn_fails = RunResult(**{**warn_only.__dict__, "fail_on": "warn"})
    assert md(warn_fails).startswith("## ❌ 1 finding introduced\n")
    assert md(audit_result()).startswith("## ❌ 4 deny and 3 warn findings\n")
    assert md(RunResult("audit", "2026-11-29", ENGINE, 3, 4, ())).startswith("## ✅ no findings\n")


def test_audit_groups_by_rule_with_titles_and_remediation() -> None:
    text = md(audit_result())
    owner = text.index("#### `owner-location` — Owner outside the approved locations (1 deny)")
    assert RULES["owner-location"].remediation in text[owner:]
    training = text.index("#### `training-expired`")
    assert max(text.index("#### `owner-location`"), text.index("#### `member-location`")) < training  # deny first
    waivers = text.index("### Waivers")
    assert training < waivers
    after = text[waivers:]
    assert "#### Waived findings (1)" in after and "`w-2026-014`" in after
    assert "#### Waiver warnings (2)" in after and "`waiver-expired`" in after and "`waiver-unused`" in after
    before = text[:waivers]
    assert "w-2026-014" not in before and "`waiver-expired`" not in before  # each in its own section


def test_cells_are_escaped() -> None:
    text = md(audit_result())
    [row] = [line for line in table_rows(text) if "slack-all-hands" in line]
    assert row.count(" | ") == 4  # five cells: the message's pipe and newline did not split or end the row
    assert "too many \\| see &lt;b&gt;note&lt;/b&gt;<br>line two: \\`x\\` \\*y\\* \\_z\\_ &amp; more" in row
    assert "\r" not in text
    assert "Split the group \\| or drop members." in text  # remediation escaped too


def test_long_lists_are_capped_with_a_note() -> None:
    many = tuple(Finding("training-expired", "warn", f"g{i:04d}", "p", "stale training",
                         Location("people.yaml", i + 1), change="introduced") for i in range(450))
    resolved = tuple(f.with_(group=f"r{i:04d}", change="resolved") for i, f in enumerate(many[:30]))
    text = md(RunResult("diff", "2026-11-29", ENGINE, 500, 1, many + resolved, RULES))
    assert sum(1 for row in table_rows(text) if "`people.yaml:" in row) == markdown.MAX_ROWS
    assert "_… and 250 more not shown here" in text
    resolved_section = text[text.index("### Resolved (30)"):]
    assert resolved_section.startswith("### Resolved (30)\n\n_30 not shown here;")  # no empty table
    assert len(text) < 65_536  # fits a GitHub comment


@pytest.mark.parametrize("length", [10, markdown.MAX_MESSAGE, markdown.MAX_MESSAGE + 1, 5000])
def test_long_messages_are_shortened(length: int) -> None:
    finding = awkward(message="m" * length)
    text = md(RunResult("audit", "2026-11-29", ENGINE, 1, 1, (finding,)))
    [row] = [line for line in table_rows(text) if "slack-all-hands" in line]
    shown = row.split(" | ")[3]
    assert len(shown) == min(length, markdown.MAX_MESSAGE)
    assert shown.endswith("…") == (length > markdown.MAX_MESSAGE)


@pytest.mark.parametrize("value", ["plain", "a`b", "``x``", "`", "a | b", "x```y````z"])
def test_code_spans_cannot_be_broken_out_of(value: str) -> None:
    span = markdown.code(value)
    fence = span[: len(span) - len(span.lstrip("`"))]
    inner = span[len(fence):-len(fence)]
    assert span.endswith(fence) and fence not in inner  # no backtick run inside as long as the fence
    assert inner.strip() == value.replace("|", "\\|")


def test_a_file_name_with_backticks_and_html_stays_in_its_cell() -> None:
    evil = awkward(location=Location("inventories/a`` <img src=x onerror=alert(1)> ``.yaml", 3),
                   group="g`<b>x</b>`", message="line\x1b[31m one\u2028two")
    text = md(RunResult("audit", "2026-11-29", ENGINE, 1, 1, (evil,), RULES))
    row = next(line for line in text.splitlines() if "onerror" in line)
    assert "| ``` inventories/a`` <img src=x onerror=alert(1)> ``.yaml:3 ``` |" in row  # all inside one span
    assert "| `` g`<b>x</b>` `` |" in row
    assert "\x1b" not in text and "\u2028" not in text and "line\\\\x1b\\[31m one\\\\u2028two" in row


def test_exceptions_this_change_grants_have_a_section_of_their_own() -> None:
    granted = member_sg(change="introduced", waiver="w-new", waiver_change="added")
    text = md(RunResult("diff", "2026-11-29", ENGINE, 1, 1, (granted, training(change="introduced")), RULES))
    section = text[text.index("### Exceptions this change grants (1)"):]
    assert "| `w-new` | added | deny |" in section
    assert text.index("### Introduced (1)") < text.index("### Exceptions this change grants")
    assert text.startswith("## ❌ 2 findings introduced")


def test_worsened_findings_are_listed_with_the_introduced_ones() -> None:
    text = md(RunResult("diff", "2026-11-29", ENGINE, 1, 1, (member_sg(change="worsened"),), RULES))
    assert text.splitlines()[0].endswith(" 1 finding introduced or worsened")
    assert "### Introduced and worsened (1)" in text and "| deny, worsened |" in text


def test_bootstrap_is_said_in_the_first_line() -> None:
    result = RunResult("diff", "2026-11-29", ENGINE, 1, 1, (), meta={"bootstrap": True})
    assert "bootstrap" in md(result).splitlines()[0]
    assert "bootstrap" not in md(clean_diff_result())


def test_a_long_report_fits_a_comment() -> None:
    findings = tuple(member_sg(group=f"g{i:04d}-" + "x" * 200, message="m" * 400, change="introduced")
                     for i in range(1000))
    text = md(RunResult("diff", "2026-11-29", ENGINE, 1000, 1, findings, RULES))
    assert len(text) <= 65_000
    assert "more not shown here" in text


def md_for_job_summary(result: RunResult) -> str:
    return md(dataclasses.replace(result, meta={**result.meta, markdown.MAX_BYTES_META: markdown.JOB_SUMMARY_BYTES}))


def a_thousand_findings(**changes: object) -> tuple[Finding, ...]:
    return tuple(member_sg(group=f"g{i:04d}-" + "x" * 200, message="m" * 400, change="introduced",
                           location=Location("people.yaml", i + 1)).with_(**changes) for i in range(1000))


def test_a_job_summary_lists_every_finding_within_one_mebibyte() -> None:
    result = RunResult("diff", "2026-11-29", ENGINE, 1000, 1, a_thousand_findings(), RULES)
    text = md_for_job_summary(result)
    assert sum(1 for row in table_rows(text) if "`people.yaml:" in row) == 1000
    assert "not shown here" not in text
    assert len(text.encode("utf-8")) <= 1024 * 1024  # GitHub takes up to 1 MiB per step summary
    assert len(md(result)) <= 65_000  # the default still fits a comment


def test_a_job_summary_too_big_for_one_mebibyte_counts_the_rest() -> None:
    # three UTF-8 bytes a character: the budget is in bytes, the step summary's unit
    wide = tuple(f.with_(group=f"群组{i:04d}-" + "审" * 200, message="批" * 400, change="introduced")
                 for i, f in enumerate(a_thousand_findings() * 3))
    result = RunResult("diff", "2026-11-29", ENGINE, 3000, 1, wide, RULES)
    text = md_for_job_summary(result)
    assert len(text.encode("utf-8")) <= 1024 * 1024
    shown = sum(1 for row in table_rows(text) if "`people.yaml:" in row)
    assert 500 < shown < 3000
    assert f"_… and {3000 - shown} more not shown here; the `json` and `sarif` formats list every finding._" in text
    comment = md(result)
    assert len(comment) <= 65_000 and len(comment.encode("utf-8")) <= 65_536


def test_problems_section() -> None:
    from checker.errors import Problem

    stream = io.StringIO()
    markdown.render_problems("validate", [Problem("inventories/a.yaml", 3, "bad <b>owner</b>"),
                                          Problem("", None, "policies do not load")], stream)
    text = stream.getvalue()
    assert text.startswith("## ❌ checker validate could not be run\n")
    assert "- `inventories/a.yaml:3`: bad &lt;b&gt;owner&lt;/b&gt;" in text
    assert "- policies do not load" in text


def test_markdown_max_bytes_reaches_the_report_from_the_command_line() -> None:
    from tests.conftest import run_checker

    def rows(*extra: str) -> int:
        proc = run_checker("audit", "--as-of", "2026-11-29", "--no-cache", "--jobs", "1", "--format", "markdown",
                           *extra)
        assert proc.returncode in (0, 1), proc.stderr
        return sum(1 for row in table_rows(proc.stdout) if row.count(" | ") > 3)

    assert rows("--markdown-max-bytes", "1000") < rows() <= rows("--markdown-max-bytes", "1000000")
    refused = run_checker("audit", "--format", "markdown", "--markdown-max-bytes", "1000001")
    assert refused.returncode == 2 and "--markdown-max-bytes" in refused.stderr
