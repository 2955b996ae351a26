"""GitHub Actions workflow commands: one annotation per finding that matters, then a plain summary line.

audit: deny -> ::error, warn -> ::warning, waived -> ::notice.
diff: only introduced findings become errors/warnings (waived ones notices), resolved ones notices
without a position (their lines are the base's), unchanged ones only count in the summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from checker.models import Finding, RunResult
from checker.report.common import by_change, level_counts, plural, rule_info

COMMANDS = {"deny": "error", "warn": "warning"}
# errors first: GitHub shows a limited number of annotations of each kind per step
ORDER = {"error": 0, "warning": 1, "notice": 2}


def escape_data(text: str) -> str:
    """The message after `::` (actions/toolkit escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A `key=value` property (actions/toolkit escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, properties: dict[str, str], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(result: RunResult, finding: Finding, *, positioned: bool = True,
               command: str | None = None, prefix: str = "") -> tuple[str, str]:
    """(command, line) for one finding."""
    if command is None:
        command = "notice" if finding.waived else COMMANDS.get(finding.level, "warning")
    title = rule_info(result, finding.rule).title
    properties: dict[str, str] = {}
    if positioned and finding.location is not None:
        properties["file"] = finding.location.file
        if finding.location.line >= 1:
            properties["line"] = str(finding.location.line)
    properties["title"] = f"{finding.rule}: {title}" if title else finding.rule
    message = finding.message  # policies' messages already name the group and person
    if finding.waived:
        message = f"waived by {finding.waiver}: {message}"
    return command, workflow_command(command, properties, prefix + message)


def annotation_lines(result: RunResult) -> Iterator[str]:
    if result.command == "diff":
        changes = by_change(result.findings)
        lines = [annotation(result, f) for f in changes["introduced"]]
        lines += [annotation(result, f, positioned=False, command="notice", prefix="resolved: ")
                  for f in changes["resolved"]]
    else:
        lines = [annotation(result, f) for f in result.present]
    for _command, line in sorted(lines, key=lambda item: ORDER[item[0]]):
        yield line


def summary(result: RunResult) -> str:
    counts = result.counts()
    head = (f"checker {result.command}: {plural(counts['groups'], 'group')}, "
            f"{plural(counts['people'], 'person', 'people')} as of {result.as_of}")
    if result.command == "diff":
        introduced = level_counts(by_change(result.findings)["introduced"])
        text = (f"{head}: {counts['introduced']} introduced ({introduced['deny']} deny, {introduced['warn']} warn, "
                f"{introduced['waived']} waived), {counts['resolved']} resolved, {counts['unchanged']} unchanged")
        if result.policies_changed:
            added = sum(1 for f in result.impact if f.change == "introduced")
            dropped = sum(1 for f in result.impact if f.change == "resolved")
            text += f"; policies changed: the new policies would add {added} and drop {dropped} findings"
        return text
    return f"{head}: {counts['deny']} deny, {counts['warn']} warn, {counts['waived']} waived"


def render(result: RunResult, stream: TextIO) -> None:
    for line in annotation_lines(result):
        stream.write(line + "\n")
    stream.write(summary(result) + "\n")  # plain log text: it starts with "checker", never with "::"
