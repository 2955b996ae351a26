from __future__ import annotations

import io

import pytest
from report_fixtures import ENGINE, RULES, audit_result, awkward, clean_diff_result, diff_result

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
