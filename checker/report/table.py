"""The terminal report (`--format table`): findings grouped by file, then by group, as ruff and Semgrep print.

    inventories/groups/lark/cn-ops-review.yaml
       4  deny  owner-location   lark-cn-ops-review           group lark-cn-ops-review holds ...
      12  deny  member-location  lark-cn-ops-review  tan.wei  member tan.wei of group ...

Ids are never wrapped; the message wraps to the terminal's width (COLUMNS, else the real width; in a
pipe or a file every finding stays on one line, for grep). A diff lists what the change introduced,
worsened, granted itself as exceptions and resolved, then the count of unchanged findings (listed with
--show-unchanged). Then each rule's remediation, once, and a last line with the counts and why the run
exits as it does. Every string from the inventory, the policies or a file name is escaped
(checker.escapes): nothing reaches the terminal raw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TextIO

from checker.escapes import escape_controls as esc
from checker.models import Finding, RunResult
from checker.report import Display
from checker.report.common import diff_counts, not_evaluated, plural, rule_info, unlisted_unchanged
from checker.report.terminal import Terminal, cells, open_terminal, pad, wrap

MIN_MESSAGE = 30  # a message goes beside its ids only with this much room, and half the width
GAP = "  "
NO_FILE = "(no file)"
LEVEL_ORDER = {"deny": 0, "warn": 1}
CHANGES = ("introduced", "worsened", "resolved", "unchanged")


def label(finding: Finding) -> str:
    return "waived" if finding.waived else finding.level


def message(finding: Finding) -> str:
    text = finding.message
    if finding.waived and finding.waiver:
        text += f" (waiver {finding.waiver})"
    elif finding.waiver_change and finding.waiver:
        text += f" (waiver {finding.waiver}, {finding.waiver_change} by this change)"
    return esc(text)


def row_order(finding: Finding) -> tuple[object, ...]:
    line = finding.location.line if finding.location else None
    return (finding.group or "", line or 0, LEVEL_ORDER.get(finding.level, 2), finding.rule, finding.person or "",
            finding.waiver or "")


def by_file(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings per file (files in path order, those without a file last), each file's in group, line order."""
    files: dict[str, list[Finding]] = {}
    for finding in findings:
        files.setdefault(finding.location.file if finding.location else NO_FILE, []).append(finding)
    ordered = sorted(files.items(), key=lambda item: (item[0] == NO_FILE, item[0]))
    return [(name, sorted(items, key=row_order)) for name, items in ordered]


def block(term: Terminal, file: str, findings: Sequence[Finding], muted: bool = False) -> str:
    """One file: its name, then a row per finding, columns as wide as this file's widest entry."""
    paint = term.paint
    rows = [(str(f.location.line) if f.location and f.location.line else "", label(f), esc(f.rule),
             esc(f.group or ""), esc(f.person or ""), message(f)) for f in findings]
    w_line = max(len(r[0]) for r in rows)
    w_label = max(len(r[1]) for r in rows)
    w_rule = max(cells(r[2]) for r in rows)
    w_group = max(cells(r[3]) for r in rows)
    w_person = max(cells(r[4]) for r in rows)
    indent = 2 + w_line + 2
    prefix = indent + w_label + 2 + w_rule + 2 + w_group + 2 + (w_person + 2 if w_person else 0)
    width = term.width
    room = None if width is None else width - prefix
    beside = room is None or room >= max(MIN_MESSAGE, term.width // 2 if term.width else 0)
    below = None if width is None else width - indent
    lines = [paint(esc(file), "file")]
    for line, lvl, rule, group, person, text in rows:
        parts = [" " * (2 + w_line - len(line)) + paint(line, "line"), GAP,
                 paint(lvl, "muted" if muted else lvl), " " * (w_label - len(lvl)), GAP,
                 paint(rule, "rule"), " " * (w_rule - cells(rule)), GAP, pad(group, w_group)]
        if w_person:
            parts += [GAP, pad(person, w_person)]
        if beside:
            wrapped = wrap(text, room)
            lines.append(("".join(parts) + GAP + wrapped[0]).rstrip())
            lines.extend(" " * prefix + more for more in wrapped[1:])
        else:  # the ids leave too little room: the message goes under them, as wide as it can be
            lines.append("".join(parts).rstrip())
            lines.extend(" " * indent + more for more in wrap(text, below))
    return "\n".join(lines) + "\n\n"


def write_blocks(stream: TextIO, term: Terminal, findings: Iterable[Finding], muted: bool = False) -> None:
    for file, items in by_file(findings):
        stream.write(block(term, file, items, muted))


def para(stream: TextIO, term: Terminal, text: str, style: str = "", indent: int = 0, blank: bool = True) -> None:
    """Prose wrapped to the terminal, each line painted; a blank line after it unless told otherwise."""
    width = None if term.width is None else term.width - indent
    for line in wrap(text, width):
        stream.write(" " * indent + (term.paint(line, style) if style else line) + "\n")
    if blank:
        stream.write("\n")


def heading(stream: TextIO, term: Terminal, title: str, count: int, style: str, note: str = "") -> None:
    para(stream, term, f"{title} ({count})" + (f": {note}" if note else ""), style)


# ---------------------------------------------------------------- audit and diff bodies


def audit_body(stream: TextIO, term: Terminal, result: RunResult) -> list[Finding]:
    present = list(result.present)
    if not present:
        stream.write("No findings.\n\n")
    write_blocks(stream, term, present)
    return [f for f in present if not f.waived]


def diff_header(result: RunResult) -> list[tuple[str, str]]:
    """What was compared, and which policies judged: (text, style) paragraphs, the bootstrap note first."""
    meta = result.meta

    def commit(key: str) -> str:
        value = meta.get(key)
        return f" ({esc(value[:12])})" if isinstance(value, str) and value else ""

    lines = []
    if meta.get("bootstrap") is True:
        lines.append(("Bootstrap: the base has no policies, so the policies of this change judge it (--bootstrap).",
                      "exceptions"))
    head, base = meta.get("head"), meta.get("base")
    if isinstance(head, str) and isinstance(base, str):
        judged = f"; policies from {commit('policies_commit').strip(' ()')}" if commit("policies_commit") else ""
        lines.append((f"checker diff: {esc(head)}{commit('head_commit')} against its merge base with "
                      f"{esc(base)}{commit('merge_base')}{judged}", "heading"))
    return lines


def diff_body(stream: TextIO, term: Terminal, result: RunResult, display: Display) -> list[Finding]:
    for text, style in diff_header(result):
        para(stream, term, text, style)
    exceptions = [f for f in result.findings if f.change == "introduced" and f.waiver_change]
    granted = set(map(id, exceptions))
    changed = {change: [f for f in result.findings if f.change == change and id(f) not in granted]
               for change in ("introduced", "worsened", "resolved", "unchanged")}
    shown: list[Finding] = []
    sections = [("Introduced", "introduced", changed["introduced"], ""),
                ("Worsened", "worsened", changed["worsened"], "present on both sides, and worse at the head"),
                ("Exceptions this change grants", "exceptions", exceptions,
                 "not applied: a waiver covers what a change introduces once it is merged on its own "
                 "(or with --accept-new-waivers)")]
    for title, style, findings, note in sections:
        if findings:
            heading(stream, term, title, len(findings), style, note)
            write_blocks(stream, term, findings)
            shown += findings
    if changed["resolved"]:
        heading(stream, term, "Resolved", len(changed["resolved"]), "resolved")
        write_blocks(stream, term, changed["resolved"], muted=True)
    if not (shown or changed["resolved"]):
        stream.write("No findings introduced, worsened or resolved.\n\n")
    unchanged = changed["unchanged"]
    unlisted = sum(unlisted_unchanged(result).values())  # of what the gate left out (checker.sidecache)
    if unchanged and display.show_unchanged:
        heading(stream, term, "Unchanged", len(unchanged), "unchanged")
        write_blocks(stream, term, unchanged)
        shown += unchanged
    elif unchanged or unlisted:
        para(stream, term, f"Unchanged: {plural(len(unchanged) + unlisted, 'finding')} present on both sides, "
                           "not listed (--show-unchanged lists them).", "muted")
    skipped = not_evaluated(result)
    if skipped:
        para(stream, term, f"Not evaluated: {skipped}.", "muted")
    impact_body(stream, term, result)
    return [f for f in shown if not f.waived]


def impact_body(stream: TextIO, term: Terminal, result: RunResult) -> None:
    added = [f for f in result.impact if f.change == "introduced"]
    dropped = [f for f in result.impact if f.change == "resolved"]
    if not result.policies_changed or not (added or dropped):
        return
    note = "what the policies of this change would find on the head inventory (they do not judge it)"
    heading(stream, term, "Policy impact", len(added) + len(dropped), "heading", note)
    for verb, findings in (("would add", added), ("would drop", dropped)):
        if findings:
            para(stream, term, f"The change's policies {verb} {plural(len(findings), 'finding')}:", "muted",
                 blank=False)
            write_blocks(stream, term, findings, muted=verb == "would drop")


# ---------------------------------------------------------------- remediation and verdict


def remediation(stream: TextIO, term: Terminal, result: RunResult, findings: Iterable[Finding]) -> None:
    """Each listed rule's remediation, once, in the order the rules first appear."""
    seen: dict[str, str] = {}
    for finding in findings:
        if finding.rule not in seen:
            seen[finding.rule] = esc(rule_info(result, finding.rule).remediation)
    fixes = [(esc(rule), text) for rule, text in seen.items() if text]
    if not fixes:
        return
    para(stream, term, "How to fix", "heading", blank=False)
    w_rule = max(len(rule) for rule, _ in fixes)
    indent = 2 + w_rule + 2
    beside = term.width is None or term.width - indent >= MIN_MESSAGE
    for rule, text in fixes:
        if beside:
            lines = wrap(text, None if term.width is None else term.width - indent)
            stream.write("  " + term.paint(rule, "rule") + " " * (w_rule - len(rule)) + GAP + lines[0] + "\n")
        else:
            stream.write("  " + term.paint(rule, "rule") + "\n")
            lines = ["", *wrap(text, term.width - 4)] if term.width else [text]
            indent = 4
        stream.writelines(" " * indent + line + "\n" for line in lines[1:])
    stream.write("\n")


def verdict(result: RunResult) -> tuple[int, str]:
    """The exit code and the findings that decide it, in words (the --fail-on level is said after them)."""
    level = result.fail_on
    if level == "never":
        return 0, "findings never fail the run"
    failing = result.failing(level)
    kinds = {"deny": "deny", "warn": "deny or warn", "any": "open"}.get(level, level)
    if not failing:
        if result.command == "diff" and level != "any":
            return 0, f"no {kinds} finding introduced or worsened"
        return 0, f"no {kinds} findings"
    if result.command == "diff" and level != "any":
        changes = [f"{n} {change}" for change in ("introduced", "worsened")
                   if (n := sum(1 for f in failing if f.change == change))]
        return 1, f"{' and '.join(changes)} {kinds} {'finding' if len(failing) == 1 else 'findings'}"
    return 1, plural(len(failing), f"{kinds} finding")


def summary(stream: TextIO, term: Terminal, result: RunResult) -> None:
    """A line of context, then the last line: the exit code, why, and the counts."""
    counts = diff_counts(result) if result.command == "diff" else result.counts()
    context = (f"{plural(counts['groups'], 'group')}, {plural(counts['people'], 'person', 'people')}, "
               f"as of {result.as_of}, engine {esc(result.engine.name)} {esc(result.engine.version)}")
    tally = f"{counts['deny']} deny, {counts['warn']} warn, {counts['waived']} waived"
    if result.command == "diff":
        context += f"; at the head {tally}"
        tally = ", ".join(f"{counts.get(change, 0)} {change}" for change in CHANGES
                          if counts.get(change) or change in ("introduced", "resolved"))
    code, reason = verdict(result)
    para(stream, term, context, "muted", blank=False)
    lines = wrap(f"Exit {code}: {reason} (--fail-on {result.fail_on}); {tally}.", term.width)
    start = len(f"Exit {code}")
    lines[0] = term.paint(lines[0][:start], "fails" if code else "passes") + lines[0][start:]
    stream.writelines(line + "\n" for line in lines)


def render(result: RunResult, stream: TextIO, display: Display | None = None) -> None:
    display = display or Display()
    term = open_terminal(stream, display.color, display.width)
    listed = diff_body(stream, term, result, display) if result.command == "diff" else audit_body(stream, term, result)
    remediation(stream, term, result, listed)
    summary(stream, term, result)
