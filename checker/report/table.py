"""A plain-text table for terminals (tabulate)."""

from __future__ import annotations

from typing import TextIO

from tabulate import tabulate

from checker.models import RunResult


def render(result: RunResult, stream: TextIO) -> None:
    rows = []
    diff = result.command == "diff"
    findings = result.findings
    if diff:  # what the change did first; the long tail of unchanged findings last
        rank = {"introduced": 0, "resolved": 1, "unchanged": 2}
        findings = tuple(sorted(findings, key=lambda f: rank.get(f.change or "", 3)))
    for f in findings:
        where = f"{f.location.file}:{f.location.line}" if f.location else ""
        level = f"{f.level} (waived: {f.waiver})" if f.waived else f.level
        row = [level, f.rule, f.group or "", f.person or "", f.message, where]
        rows.append(([f.change or ""] if diff else []) + row)
    headers = (["change"] if diff else []) + ["level", "rule", "group", "person", "message", "location"]
    if rows:
        stream.write(tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=[None] * (len(headers) - 2)
                              + [70, None]))
        stream.write("\n\n")
    else:
        stream.write("No findings.\n\n")
    counts = result.counts()
    summary = (f"{counts['groups']} groups, {counts['people']} people: {counts['deny']} deny, "
               f"{counts['warn']} warn, {counts['waived']} waived")
    if diff:
        summary += (f"; {counts['introduced']} introduced, {counts['resolved']} resolved, "
                    f"{counts['unchanged']} unchanged")
    stream.write(f"{summary} (as of {result.as_of}, engine {result.engine.name} {result.engine.version})\n")
