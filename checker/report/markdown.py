"""Markdown for a pull-request comment or a job summary: a verdict, counts, then the findings that
matter first (diff: introduced, resolved, unchanged collapsed, policy impact; audit: by rule, then
waivers). Long lists are cut to a budget of table rows (by default MAX_ROWS rows and MAX_BYTES bytes in
all, for a comment; --markdown-max-bytes raises it for a job summary), with a note of what was left out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from checker.errors import Problem
from checker.models import WAIVER_RULES, Finding, RunResult
from checker.report.common import (
    by_change,
    by_key,
    fail_on,
    is_new,
    level_counts,
    location_text,
    not_evaluated,
    plural,
    printable,
    printable_keeping_lines,
    rule_info,
    unlisted_unchanged,
    waiver_change,
)

MAX_BYTES = 60_000  # UTF-8 bytes of table rows in the whole document: GitHub comments stop at 65,536 characters
MAX_ROWS = 200  # table rows in the whole document: one per BYTES_PER_ROW of the byte budget
BYTES_PER_ROW = MAX_BYTES // MAX_ROWS
JOB_SUMMARY_BYTES = 1_000_000  # a budget that leaves room for the headings in GitHub's 1 MiB per step summary
MAX_BYTES_META = "markdown_max_bytes"  # RunResult.meta key set from --markdown-max-bytes
MAX_MESSAGE = 300  # characters of one message in a table cell
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
FINDING_COLUMNS = ("level", "rule", "group", "person", "message", "location")


def text(value: str) -> str:
    """Plain text safe in a table cell or a paragraph: no HTML, no emphasis, no column breaks."""
    value = printable_keeping_lines(value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN_SPECIAL.sub(r"\\\1", value)
    return re.sub(r"\r\n|\r|\n", "<br>", value)


def paragraph(value: str) -> str:
    return text(" ".join(value.split()))


def code(value: str) -> str:
    """A code span for a table cell (ids, file:line): one line, control characters escaped, `|` escaped
    for the table, and a fence longer than any run of backticks inside, so nothing breaks out of it."""
    if not value:
        return ""
    value = printable(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""  # a span may not start or end with its own fence's character
    return f"{fence}{pad}{value}{pad}{fence}"


def shorten(value: str, limit: int = MAX_MESSAGE) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class RowBudget:
    """How many table rows, and UTF-8 bytes of them, the document may still show. Bytes, not characters:
    a step summary's limit is in bytes, and a byte budget keeps a comment within its character limit too."""

    left: int = MAX_ROWS
    size: int = MAX_BYTES

    @classmethod
    def of(cls, max_bytes: int) -> RowBudget:
        return cls(max(1, max_bytes // BYTES_PER_ROW), max_bytes)

    def take(self, rows: Sequence[str]) -> int:
        """How many of these rows fit (from the first), and takes them."""
        granted = 0
        for row in rows[: self.left]:
            size = len(row.encode("utf-8")) + 1
            if size > self.size:
                break
            self.size -= size
            granted += 1
        self.left -= granted
        return granted


def level_cell(finding: Finding) -> str:
    if finding.waived:
        return f"{finding.level}, waived ({code(finding.waiver or '')})"
    return f"{finding.level}, worsened" if finding.change == "worsened" else finding.level


def finding_cells(finding: Finding, column: str) -> str:
    if column == "level":
        return level_cell(finding)
    if column == "message":
        return text(shorten(finding.message))
    if column == "location":
        return code(location_text(finding))
    if column == "effect":
        return {"introduced": "would add", "resolved": "would drop"}.get(finding.change or "", "")
    if column == "granted":
        return waiver_change(finding) or ""
    value = getattr(finding, column)
    return code(value) if isinstance(value, str) else ""


def table(findings: Sequence[Finding], columns: Sequence[str], budget: RowBudget) -> list[str]:
    rows = ["| " + " | ".join(finding_cells(f, c) for c in columns) + " |" for f in findings[: budget.left]]
    shown = budget.take(rows)
    lines: list[str] = []
    if shown:
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns), *rows[:shown]]
    if shown < len(findings):
        left = len(findings) - shown
        note = f"_… and {left} more not shown here" if shown else f"_{left} not shown here"
        lines += [*([""] if lines else []), note + "; the `json` and `sarif` formats list every finding._"]
    return lines


def section(title: str, findings: Sequence[Finding], columns: Sequence[str], budget: RowBudget) -> list[str]:
    return [f"### {title} ({len(findings)})", "", *(table(findings, columns, budget) if findings else ["None."]),
            ""]


def verdict(result: RunResult) -> str:
    failing = bool(result.failing(fail_on(result)))
    counts = result.counts()
    if result.command == "diff":
        new = [f for f in result.findings if is_new(f)]
        if new:
            what = "introduced or worsened" if any(f.change == "worsened" for f in new) else "introduced"
            return f"{'❌' if failing else '⚠️'} {plural(len(new), 'finding')} {what}"
        return "❌ no new findings, but existing findings fail the run" if failing else "✅ no new findings"
    if counts["deny"] or counts["warn"]:
        found = " and ".join(f"{counts[level]} {level}" for level in ("deny", "warn") if counts[level])
        total = counts["deny"] + counts["warn"]
        return f"{'❌' if failing else '⚠️'} {found} {'finding' if total == 1 else 'findings'}"
    return "✅ no findings"


def context_line(result: RunResult) -> str:
    parts = [f"as of {result.as_of}", plural(result.groups, "group"),
             plural(result.people, "person", "people"), f"engine {result.engine.name} {result.engine.version}"]
    base, head = result.meta.get("base"), result.meta.get("head")
    if isinstance(base, str) and isinstance(head, str):
        parts.append(f"{code(base)} → {code(head)}")
    return " · ".join(parts)


def counts_table(result: RunResult) -> list[str]:
    if result.command == "diff":
        lines = ["| | deny | warn | waived |", "|---|---:|---:|---:|"]
        unlisted = unlisted_unchanged(result)  # of what the gate left out (checker.sidecache)
        for change, findings in by_change(result.findings).items():
            c = level_counts(findings)
            if change == "unchanged":
                c = {level: n + unlisted[level] for level, n in c.items()}
            lines.append(f"| {change} | {c['deny']} | {c['warn']} | {c['waived']} |")
        return lines
    c = result.counts()
    return ["| groups | people | deny | warn | waived |", "|---:|---:|---:|---:|---:|",
            f"| {c['groups']} | {c['people']} | {c['deny']} | {c['warn']} | {c['waived']} |"]


def diff_sections(result: RunResult, budget: RowBudget) -> list[str]:
    changes = by_change(result.findings)
    granted = [f for f in result.findings if waiver_change(f)]
    new = [f for f in (*changes["introduced"], *changes["worsened"]) if not waiver_change(f)]
    lines = section("Introduced and worsened" if changes["worsened"] else "Introduced", new, FINDING_COLUMNS,
                    budget)
    if granted:  # SPEC §5: a section of its own; these fail the run until the waiver is merged on its own
        lines += [f"### Exceptions this change grants ({len(granted)})", "",
                  "Waivers that this change adds or extends do not suppress the findings it introduces; they "
                  "apply once merged by a change of their own.", "",
                  *table(granted, ("waiver", "granted", *FINDING_COLUMNS), budget), ""]
    lines += section("Resolved", changes["resolved"], FINDING_COLUMNS, budget)
    unlisted = sum(unlisted_unchanged(result).values())
    if changes["unchanged"] or unlisted:
        listed = table(changes["unchanged"], FINDING_COLUMNS, budget)
        if unlisted:
            count = plural(unlisted, "more finding" if listed else "finding")
            listed += [*([""] if listed else []), f"_{count} of groups and people that the change cannot affect, "
                       "counted from the cache, not listed here; the `json` and `sarif` formats list every finding._"]
        lines += ["<details>", f"<summary>Unchanged ({len(changes['unchanged']) + unlisted})</summary>", "",
                  *listed, "", "</details>", ""]
    skipped = not_evaluated(result)
    if skipped:
        lines += [f"Not evaluated: {skipped}.", ""]
    if result.policies_changed:
        lines += impact_section(result, budget)
    return lines


def impact_section(result: RunResult, budget: RowBudget) -> list[str]:
    added = [f for f in result.impact if f.change == "introduced"]
    dropped = [f for f in result.impact if f.change == "resolved"]
    lines = ["### Policy impact", "",
             "This change edits the policies. The findings above are judged by the policies at the merge base; "
             f"the new policies, on the head inventory, would add {len(added)} and drop {len(dropped)} "
             f"{'finding' if len(added) + len(dropped) == 1 else 'findings'}.", ""]
    if added or dropped:
        lines += [*table([*added, *dropped], ("effect", *FINDING_COLUMNS), budget), ""]
    return lines


def rule_order(item: tuple[str, list[Finding]]) -> tuple[int, str]:
    rule_id, findings = item
    return (0 if any(f.level == "deny" for f in findings) else 1, rule_id)


def audit_sections(result: RunResult, budget: RowBudget) -> list[str]:
    present = result.present
    open_findings = [f for f in present if not f.waived and f.rule not in WAIVER_RULES]
    lines: list[str] = []
    if open_findings:
        lines += ["### Findings by rule", ""]
    for rule_id, findings in sorted(by_key(open_findings, "rule").items(), key=rule_order):
        rule = rule_info(result, rule_id)
        c = level_counts(findings)
        counted = ", ".join(f"{c[level]} {level}" for level in ("deny", "warn") if c[level])
        heading = f"#### {code(rule_id)}" + (f" — {paragraph(rule.title)}" if rule.title else "")
        lines += [f"{heading} ({counted})", ""]
        about = [f"severity {paragraph(rule.severity)}"] if rule.severity else []
        if rule.remediation:
            about.append(f"**Remediation:** {paragraph(rule.remediation)}")
        if about:
            lines += [" · ".join(about), ""]
        lines += [*table(findings, ("level", "group", "person", "message", "location"), budget), ""]
    lines += waiver_sections(present, budget)
    return lines


def waiver_sections(present: Iterable[Finding], budget: RowBudget) -> list[str]:
    waived = [f for f in present if f.waived]
    warnings = [f for f in present if f.rule in WAIVER_RULES]
    if not waived and not warnings:
        return []
    lines = ["### Waivers", ""]
    if waived:
        lines += [f"#### Waived findings ({len(waived)})", "",
                  *table(waived, ("waiver", "rule", "group", "person", "message", "location"), budget), ""]
    if warnings:
        lines += [f"#### Waiver warnings ({len(warnings)})", "",
                  *table(warnings, ("rule", "waiver", "group", "message", "location"), budget), ""]
    return lines


BOOTSTRAP = " (bootstrap: the base has no policies, so the head's own policies judge it)"


def document(result: RunResult) -> str:
    max_bytes = result.meta.get(MAX_BYTES_META, MAX_BYTES)
    budget = RowBudget.of(max_bytes if isinstance(max_bytes, int) else MAX_BYTES)
    first = f"## {verdict(result)}" + (BOOTSTRAP if result.meta.get("bootstrap") else "")
    lines = [first, "", f"checker {result.command} · {context_line(result)}", "",
             *counts_table(result), ""]
    lines += diff_sections(result, budget) if result.command == "diff" else audit_sections(result, budget)
    lines += trend_section(result)
    return "\n".join(lines).rstrip("\n") + "\n"


def trend_section(result: RunResult) -> list[str]:
    """The --history series: open deny/warn per sample, and how many findings opened and closed."""
    series = result.meta.get("history")
    if not isinstance(series, list) or not series:
        return []
    changes = result.meta.get("history_changes") or []
    moved: dict[str, list[int]] = {}
    for change in changes:
        moved.setdefault(str(change.get("date")), [0, 0])[0 if change.get("change") == "opened" else 1] += 1
    lines = ["", "### Compliance trend", "", "| Date | Commit | Deny | Warn | Opened | Closed |",
             "|---|---|---:|---:|---:|---:|"]
    for point in series:
        counts = point.get("counts") or {}
        deny = sum(c.get("deny", 0) for c in counts.values())
        warn = sum(c.get("warn", 0) for c in counts.values())
        opened, closed = moved.get(str(point.get("date")), [0, 0])
        cells = f"not valid: {text(str(point['error']))} | " if point.get("error") else f"{deny} | {warn}"
        lines.append(f"| {point.get('date')} | `{str(point.get('commit'))[:12]}` | {cells} | {opened} | {closed} |")
    return lines


def render(result: RunResult, stream: TextIO) -> None:
    stream.write(document(result))


def render_problems(command: str, problems: Sequence[Problem], stream: TextIO) -> None:
    """SPEC §6: a run that could not be completed, with its problems, within a comment's size."""
    lines = [f"## ❌ checker {command} could not be run", "",
             f"The run could not be completed (exit 2): {plural(len(problems), 'problem')}. Nothing was judged.", ""]
    left = MAX_BYTES
    for shown, problem in enumerate(problems):
        where = f"{problem.file}:{problem.line}" if problem.file and problem.line else problem.file
        line = f"- {code(where)}: {text(shorten(problem.message))}" if where else f"- {text(shorten(problem.message))}"
        size = len(line.encode("utf-8")) + 1
        if size > left:
            lines += ["", f"_… and {len(problems) - shown} more problems; the step's log lists every one._"]
            break
        left -= size
        lines.append(line)
    stream.write("\n".join(lines) + "\n")
