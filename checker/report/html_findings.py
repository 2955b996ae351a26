"""The HTML report's findings and waivers sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checker.models import Finding, RunResult
from checker.report.common import plural, rule_info
from checker.report.html_markup import (
    STATUS_LABELS,
    STATUSES,
    badge,
    cell,
    code,
    e,
    location_link,
    meta_records,
    meta_text,
    parse_date,
    section,
    status,
    table,
)

EXPIRING_SOON_DAYS = 30


CHANGE_ORDER = ("introduced", "worsened", "resolved", "unchanged")


def finding_rank(finding: Finding) -> tuple[int, int]:
    """Introduced first (in a diff), then open deny, open warn, waived."""
    change = finding.change or ""
    return (CHANGE_ORDER.index(change) if change in CHANGE_ORDER else 0, STATUSES.index(status(finding)))


def finding_row(finding: Finding, result: RunResult, base: str, with_change: bool = False) -> str:
    info = rule_info(result, finding.rule)
    st = status(finding)
    # The rule's title and remediation are under Rules, once; here a tooltip, so rows stay short in print.
    title = f' title="{e(info.title)}"' if info.title else ""
    rule_cell = f'<a href="#rule-{e(finding.rule)}"{title}>{e(finding.rule)}</a>'
    level = badge(st, finding.level if not finding.waived else f"{finding.level}, waived")
    loc_key = f"{finding.location.file}:{finding.location.line:09d}" if finding.location else ""
    waiver = code(finding.waiver)
    if finding.waiver_change:
        waiver += f' <span class="sub">{e(finding.waiver_change or "")} by this change, not applied</span>'
    attrs = (f'class="st-{e(st)}" data-status="{e(st)}" data-level="{e(finding.level)}" '
             f'data-rule="{e(finding.rule)}" data-group="{e(finding.group)}" data-person="{e(finding.person or "")}" '
             f'data-waived="{"true" if finding.waived else "false"}" data-waiver="{e(finding.waiver or "")}"')
    cells = (cell(level, STATUSES.index(st), "level") + cell(rule_cell, finding.rule, "rule")
             + cell(code(finding.person), label="Person" if finding.person else "")
             + cell(f'<div class="msg">{e(finding.message)}</div>', css_class="message")
             + cell(location_link(finding, base), loc_key, "where", label="Location" if finding.location else "")
             + cell(waiver, label="Waiver" if finding.waiver else ""))
    if with_change:
        change = finding.change or ""
        cells += cell(badge("ch-" + (change or "none"), change), CHANGE_ORDER.index(change)
                      if change in CHANGE_ORDER else "", label="Change")
        attrs += f' data-change="{e(change)}"'
    return f"<tr {attrs}>{cells}</tr>"


def group_head(group: str, findings: Sequence[Finding], columns: int, summary: Mapping[str, Any] | None) -> str:
    """The row that opens a group's findings: its id, what the inventory says of it, and its counts."""
    facts = []
    if summary:
        facts = [str(summary.get(k)) for k in ("platform", "kind") if summary.get(k)]
        if summary.get("owner"):
            where = f" ({summary.get('owner_location')})" if summary.get("owner_location") else ""
            facts.append(f"owner {summary.get('owner')}{where}")
        if isinstance(summary.get("members"), int):
            facts.append(plural(summary["members"], "member"))
    counts = {s: sum(1 for f in findings if status(f) == s) for s in STATUSES}
    tally = ", ".join(f"{n} {STATUS_LABELS[s]}" for s, n in counts.items() if n)
    name = f"<code>{e(group)}</code>" if group else "Findings about a person, in no one group"
    return (f'<tr class="group-head"><th colspan="{columns}" scope="rowgroup">{name}'
            + (f' <span class="sub">{e(" · ".join(facts))}</span>' if facts else "")
            + f' <span class="tally">{e(tally)}</span></th></tr>')


def filter_form(findings: Sequence[Finding], diff: bool) -> str:
    """Controls for the script; hidden until it runs, since without it they would do nothing."""
    rules = sorted({f.rule for f in findings})
    rule_options = "".join(f'<option value="{e(r)}">{e(r)}</option>' for r in rules)
    status_options = "".join(f'<option value="{e(s)}">{e(STATUS_LABELS[s])}</option>' for s in STATUSES)
    changes = [c for c in CHANGE_ORDER if any(f.change == c for f in findings)]
    change_options = "".join(f'<option value="{e(c)}">{e(c)}</option>' for c in changes)
    change_select = (f'<label>Change <select name="change"><option value="">all</option>{change_options}</select>'
                     "</label>" if diff else "")
    return (f'<form id="findings-filter" class="controls" hidden role="search">'
            f'<label>Search <input type="search" name="q" placeholder="group, person, text…"></label>'
            f"{change_select}"
            f'<label>Status <select name="status"><option value="">all</option>{status_options}</select></label>'
            f'<label>Rule <select name="rule"><option value="">all</option>{rule_options}</select></label>'
            f'<output name="shown" aria-live="polite">{len(findings)} findings</output></form>')


def finding_order(finding: Finding) -> tuple[Any, ...]:
    return (*finding_rank(finding), finding.rule, finding.person or "", finding.waiver or "", finding.message)


def findings_section(result: RunResult, groups: Mapping[str, Mapping[str, Any]]) -> str:
    """One table, a row group per group: groups with what matters most first (introduced, open deny), each
    group's findings in the same order. The group's id heads its rows instead of repeating in each."""
    diff = result.command == "diff"
    # An audit lists what is in force; a diff also lists what the change resolves, marked so.
    shown = result.findings if diff else result.present
    if not shown:
        return section("findings", "Findings", '<p class="empty">No findings.</p>')
    per_group: dict[str, list[Finding]] = {}
    for finding in shown:
        per_group.setdefault(finding.group or "", []).append(finding)
    order = sorted(per_group, key=lambda g: (min(map(finding_rank, per_group[g])), g))
    base = meta_text(result, "source_link_base")
    headers = ("Level", "Rule", "Person", "Message", "Location", "Waiver") + (("Change",) if diff else ())
    bodies = []
    for group in order:
        findings = sorted(per_group[group], key=finding_order)
        rows = [group_head(group, findings, len(headers), groups.get(group))]
        rows += [finding_row(f, result, base, with_change=diff) for f in findings]
        bodies.append(f'<tbody data-group="{e(group)}">' + "\n".join(rows) + "</tbody>")
    where = "" if base else (" Locations are relative to the root of the repository that holds the inventory"
                             " (outside a repository, to the folder the checker ran in).")
    first = "introduced first, then open deny" if diff else "open deny first"
    intro = (f'<p class="note">{e(plural(len(shown), "finding"))} in {e(plural(len(order), "group"))}, '
             f"{first}; each rule's remediation is under Rules.{where}</p>")
    return section("findings", "Findings",
                   intro + filter_form(shown, diff)
                   + table(headers, (), css_class="findings sortable cards", table_id="findings-table",
                           bodies=bodies))


def exceptions_section(result: RunResult) -> str:
    """SPEC §5: findings the change introduces that a waiver it adds or extends would cover (not applied)."""
    granted = [f for f in result.findings if f.waiver_change]
    if not granted:
        return ""
    base = meta_text(result, "source_link_base")
    rows = [f'<tr data-waiver="{e(f.waiver or "")}">' + cell(badge(status(f)), label="Level")
            + cell(code(f.rule), label="Rule") + cell(code(f.group), label="Group")
            + cell(code(f.person), label="Person" if f.person else "")
            + cell(code(f.waiver), label="Waiver") + cell(e(f.waiver_change or ""), label="By this change")
            + cell(location_link(f, base), css_class="where", label="Location") + "</tr>"
            for f in sorted(granted, key=lambda f: (f.group or "", f.rule, f.person or ""))]
    intro = ('<p class="note">Findings this change introduces that a waiver it adds or extends would cover. '
             "They are not waived: a waiver covers what a change introduces once it is merged on its own "
             "(or with --accept-new-waivers).</p>")
    headers = ("Level", "Rule", "Group", "Person", "Waiver", "By this change", "Location")
    return section("exceptions", "Exceptions this change grants",
                   intro + table(headers, rows, css_class="exceptions cards"))


# ---------------------------------------------------------------- waivers


def waiver_rows_from_meta(result: RunResult, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    as_of = parse_date(result.as_of)
    unused = {f.waiver for f in result.present if f.rule == "waiver-unused"}
    suppressed: dict[str, int] = {}
    for f in result.present:
        if f.waived and f.waiver:
            suppressed[f.waiver] = suppressed.get(f.waiver, 0) + 1
    rows = []
    for w in records:
        expires = parse_date(w.get("expires"))
        days = (expires - as_of).days if expires and as_of else None
        if days is not None and days < 0:
            state = "expired"
        elif w.get("id") in unused:
            state = "unused"
        else:
            state = "in force"
        rows.append({**w, "state": state, "days": days, "suppressed": suppressed.get(str(w.get("id")), 0)})
    return rows


def waiver_rows_from_findings(result: RunResult) -> list[dict[str, Any]]:
    """Without meta["waivers"]: what the findings tell (no dates, no reasons)."""
    rows: dict[str, dict[str, Any]] = {}
    for f in result.present:
        if not f.waiver:
            continue
        row = rows.setdefault(f.waiver, {"id": f.waiver, "group": f.group, "state": "in force", "suppressed": 0,
                                         "days": None})
        if f.rule == "waiver-expired":
            row["state"] = "expired"
        elif f.rule == "waiver-unused":
            row["state"] = "unused"
        elif f.waived:
            row["suppressed"] += 1
            row.setdefault("rule", f.rule)
            if f.person:
                row.setdefault("persons", set()).add(f.person)
    return [rows[k] for k in sorted(rows)]


def days_text(row: Mapping[str, Any]) -> tuple[str, object]:
    days = row.get("days")
    if days is None:
        return "", None
    if days < 0:
        return f"expired {plural(-days, 'day')} ago", days
    if days == 0:
        return "expires today", days
    return f"{plural(days, 'day')} left", days


def waivers_section(result: RunResult) -> str:
    records = meta_records(result, "waivers")
    rows_data = waiver_rows_from_meta(result, records) if records else waiver_rows_from_findings(result)
    if not rows_data:
        return section("waivers", "Waivers", '<p class="empty">No waivers.</p>')
    state_order = {"expired": 0, "unused": 1, "in force": 2}
    rows_data.sort(key=lambda r: (state_order[r["state"]], r["days"] if r.get("days") is not None else 10**9,
                                  str(r.get("id"))))
    rows = []
    for r in rows_data:
        days, days_key = days_text(r)
        soon = r["state"] == "in force" and r.get("days") is not None and r["days"] <= EXPIRING_SOON_DAYS
        state_badge = badge("w-" + r["state"].replace(" ", "-"), r["state"] + (", expiring soon" if soon else ""))
        person = r.get("person") or ", ".join(sorted(r.get("persons") or ()))
        unknown = '<span class="sub">not recorded</span>'
        rows.append(f'<tr data-waiver="{e(r.get("id"))}" data-state="{e(r["state"])}">'
                    + cell(code(r.get("id")), css_class="nowrap", label="Waiver")
                    + cell(state_badge, state_order[r["state"]], label="State")
                    + cell(code(r.get("rule")) or unknown, label="Rule")
                    + cell(code(r.get("group")), label="Group") + cell(code(person), label="Person" if person else "")
                    + cell(e(r.get("expires") or "") or unknown, r.get("expires") or "", "nowrap", label="Expires")
                    + cell(e(days), days_key if days_key is not None else "", "num", label="Days to expiry")
                    + cell(str(r["suppressed"]), r["suppressed"], "num", label="Suppresses")
                    + cell(code(r.get("approved_by")), label="Approved by" if r.get("approved_by") else "")
                    + cell(e(r.get("reason") or "") or unknown, label="Reason") + "</tr>")
    headers = ("Waiver", "State", "Rule", "Group", "Person", "Expires", "Days to expiry", "Suppresses",
               "Approved by", "Reason")
    counts = {s: sum(1 for r in rows_data if r["state"] == s) for s in state_order}
    intro = (f'<p class="note">{counts["in force"]} in force, {counts["unused"]} in force but unused, '
             f'{counts["expired"]} expired. "Suppresses" counts the findings each waiver waives in this run.'
             + ("" if records else " Expiry dates and reasons are not available for this run.") + "</p>")
    return section("waivers", "Waivers", intro + table(headers, rows, css_class="waivers sortable cards"))
