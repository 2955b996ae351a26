"""GitHub Actions workflow commands: one annotation per finding that matters, then a plain summary line.

audit: deny -> ::error, warn -> ::warning, waived -> ::notice.
diff: introduced and worsened findings become errors/warnings (waived ones notices), resolved ones
notices without a position (their lines are the base's), unchanged ones only count in the summary.

GitHub shows 10 error, 10 warning and 10 notice annotations per step (SPEC §9): the most important
come first, at most 10 of each kind, and one notice says how many more there are and where to read
them. A run that could not be completed prints its problems as ::error commands the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from checker.errors import Problem
from checker.models import FAILING_CHANGES, Finding, RunResult
from checker.report.common import (
    by_change,
    by_importance,
    diff_counts,
    level_counts,
    not_evaluated,
    plural,
    printable,
    printable_keeping_lines,
    rule_info,
    waiver_change,
)

COMMANDS = {"deny": "error", "warn": "warning"}
PER_STEP = 10  # annotations of each kind GitHub shows per step
# The workflows write the job summary with --markdown-max-bytes 1000000: every finding up to GitHub's 1 MiB,
# the rest counted there; sarif stops at --sarif-max-results, json never does.
WHERE_TO_READ = ("the job summary (--format markdown --markdown-max-bytes 1000000) lists them, "
                 "the json format every finding")


def escape_data(text: str) -> str:
    """The message after `::` (actions/toolkit escapeData); other control characters (and bidi
    overrides) shown as escapes, since the runner writes the message to the log as it is."""
    text = printable_keeping_lines(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A `key=value` property (actions/toolkit escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, properties: dict[str, str], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def kind(finding: Finding) -> str:
    return "notice" if finding.waived else COMMANDS.get(finding.level, "warning")


def annotation(result: RunResult, finding: Finding, *, positioned: bool = True, command: str | None = None,
               prefix: str = "") -> str:
    """The workflow command for one finding."""
    title = rule_info(result, finding.rule).title
    properties: dict[str, str] = {}
    if positioned and finding.location is not None:
        properties["file"] = finding.location.file
        if finding.location.line >= 1:
            properties["line"] = str(finding.location.line)
    properties["title"] = f"{finding.rule}: {title}" if title else finding.rule
    message = finding.message  # policies' messages already name the group and person
    granted = waiver_change(finding)
    if finding.waived:
        message = f"waived by {finding.waiver}: {message}"
    elif granted:
        message = f"exception this change grants (waiver {finding.waiver} {granted}) does not apply: {message}"
    if finding.change == "worsened":
        message = f"worsened: {message}"
    return workflow_command(command or kind(finding), properties, prefix + message)


def annotation_lines(result: RunResult) -> list[str]:
    """Errors, warnings and notices, most important first, within GitHub's per-step limits."""
    if result.command == "diff":
        changes = by_change(result.findings)
        judged = by_importance([f for f in result.findings if f.change in FAILING_CHANGES])
        errors = [annotation(result, f) for f in judged if kind(f) == "error"]
        warnings = [annotation(result, f) for f in judged if kind(f) == "warning"]
        notices = [annotation(result, f) for f in judged if kind(f) == "notice"]
        notices += [annotation(result, f, positioned=False, command="notice", prefix="resolved: ")
                    for f in changes["resolved"]]
    else:
        present = by_importance(result.present)
        errors = [annotation(result, f) for f in present if kind(f) == "error"]
        warnings = [annotation(result, f) for f in present if kind(f) == "warning"]
        notices = [annotation(result, f) for f in present if kind(f) == "notice"]
    return within_limits(errors, warnings, notices, "finding", WHERE_TO_READ)


def within_limits(errors: Sequence[str], warnings: Sequence[str], notices: Sequence[str], noun: str,
                  where: str) -> list[str]:
    over = len(errors) > PER_STEP or len(warnings) > PER_STEP or len(notices) > PER_STEP
    notice_room = PER_STEP - 1 if over else PER_STEP  # one notice is the count of the rest
    lines = [*errors[:PER_STEP], *warnings[:PER_STEP], *notices[:notice_room]]
    if over:
        left = [max(len(errors) - PER_STEP, 0), max(len(warnings) - PER_STEP, 0), max(len(notices) - notice_room, 0)]
        parts = [f"{n} {label}" for n, label in zip(left, ("errors", "warnings", "notices"), strict=True) if n]
        lines.append(workflow_command("notice", {"title": "checker: more annotations"},
                                      f"{plural(sum(left), noun)} more not annotated here ({', '.join(parts)}; "
                                      f"GitHub shows {PER_STEP} of each kind per step): {where}"))
    return lines


def first_line(result: RunResult) -> list[str]:
    """SPEC §6: a bootstrap run says so in its first line."""
    if not result.meta.get("bootstrap"):
        return []
    return [f"checker {result.command}: bootstrap: the base has no policy folder, so the head's own policies "
            "judge this change (--bootstrap)"]


def summary(result: RunResult) -> str:
    counts = diff_counts(result) if result.command == "diff" else result.counts()
    head = (f"checker {result.command}: {plural(counts['groups'], 'group')}, "
            f"{plural(counts['people'], 'person', 'people')} as of {result.as_of}")
    if result.command == "diff":
        introduced = level_counts(by_change(result.findings)["introduced"])
        text = (f"{head}: {counts['introduced']} introduced ({introduced['deny']} deny, {introduced['warn']} warn, "
                f"{introduced['waived']} waived), ")
        if counts.get("worsened"):
            text += f"{counts['worsened']} worsened, "
        text += f"{counts['resolved']} resolved, {counts['unchanged']} unchanged"
        skipped = not_evaluated(result)
        if skipped:
            text += f"; not evaluated: {skipped}"
        granted = sum(1 for f in result.findings if waiver_change(f))
        if granted:
            text += f"; {plural(granted, 'exception')} this change grants itself (not applied)"
        if result.policies_changed:
            added = sum(1 for f in result.impact if f.change == "introduced")
            dropped = sum(1 for f in result.impact if f.change == "resolved")
            text += f"; policies changed: the new policies would add {added} and drop {dropped} findings"
        return printable(text)
    return printable(f"{head}: {counts['deny']} deny, {counts['warn']} warn, {counts['waived']} waived")


def render(result: RunResult, stream: TextIO) -> None:
    for line in [*first_line(result), *annotation_lines(result)]:
        stream.write(line + "\n")
    stream.write(summary(result) + "\n")  # plain log text: it starts with "checker", never with "::"


def problem_command(command: str, problem: Problem) -> str:
    properties = {"title": f"checker {command}: could not be run"}
    if problem.file:
        properties = {"file": problem.file, **({"line": str(problem.line)} if problem.line else {}), **properties}
    return workflow_command("error", properties, problem.message)


def render_problems(command: str, problems: Sequence[Problem], stream: TextIO) -> None:
    """SPEC §9: the problems of a run that could not be completed, as ::error commands on their lines."""
    errors = [problem_command(command, p) for p in problems]
    for line in within_limits(errors, [], [], "problem", "the step's log (stderr) lists every problem"):
        stream.write(line + "\n")
    stream.write(printable(f"checker {command}: could not be run (exit 2): {plural(len(problems), 'problem')}")
                 + "\n")
