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


def finding_row(finding: Finding, result: RunResult, base: str, with_change: bool = False) -> str:
    info = rule_info(result, finding.rule)
    st = status(finding)
    rule_cell = f'<a href="#rule-{e(finding.rule)}">{e(finding.rule)}</a>'
    if info.title:
        rule_cell += f'<div class="sub">{e(info.title)}</div>'
    message = f'<div class="msg">{e(finding.message)}</div>'
    if info.remediation:
        message += f'<div class="fix"><span>Fix:</span> {e(info.remediation)}</div>'
    level = badge(st, finding.level if not finding.waived else f"{finding.level}, waived")
    loc_key = f"{finding.location.file}:{finding.location.line:09d}" if finding.location else ""
    attrs = (f'class="st-{e(st)}" data-status="{e(st)}" data-level="{e(finding.level)}" '
             f'data-rule="{e(finding.rule)}" data-group="{e(finding.group)}" data-person="{e(finding.person or "")}" '
             f'data-waived="{"true" if finding.waived else "false"}" data-waiver="{e(finding.waiver or "")}"')
    cells = (cell(level, STATUSES.index(st)) + cell(rule_cell, finding.rule) + cell(code(finding.group))
             + cell(code(finding.person)) + cell(message) + cell(location_link(finding, base), loc_key, "where")
             + cell(code(finding.waiver)))
    if with_change:
        cells += cell(badge("ch-" + (finding.change or "none"), finding.change or ""), finding.change or "")
        attrs += f' data-change="{e(finding.change or "")}"'
    return f"<tr {attrs}>{cells}</tr>"


def filter_form(findings: Sequence[Finding]) -> str:
    """Controls for the script; hidden until it runs, since without it they would do nothing."""
    rules = sorted({f.rule for f in findings})
    rule_options = "".join(f'<option value="{e(r)}">{e(r)}</option>' for r in rules)
    status_options = "".join(f'<option value="{e(s)}">{e(STATUS_LABELS[s])}</option>' for s in STATUSES)
    return (f'<form id="findings-filter" class="controls" hidden role="search">'
            f'<label>Search <input type="search" name="q" placeholder="group, person, text…"></label>'
            f'<label>Status <select name="status"><option value="">all</option>{status_options}</select></label>'
            f'<label>Rule <select name="rule"><option value="">all</option>{rule_options}</select></label>'
            f'<output name="shown" aria-live="polite">{len(findings)} findings</output></form>')


def finding_order(finding: Finding) -> tuple[Any, ...]:
    return (STATUSES.index(status(finding)), finding.rule, finding.group, finding.person or "",
            finding.waiver or "", finding.message)


def findings_section(result: RunResult) -> str:
    diff = result.command == "diff"
    # An audit lists what is in force; a diff also lists what the change resolves, marked so.
    shown = sorted(result.findings if diff else result.present, key=finding_order)
    if not shown:
        return section("findings", "Findings", '<p class="empty">No findings.</p>')
    base = meta_text(result, "source_link_base")
    rows = [finding_row(f, result, base, with_change=diff) for f in shown]
    headers = ("Level", "Rule", "Group", "Person", "Message", "Location", "Waiver") + (("Change",) if diff else ())
    where = "" if base else " Locations are relative to the folder the checker ran in."
    intro = f'<p class="note">{e(plural(len(shown), "finding"))}, open deny first.{where}</p>'
    return section("findings", "Findings",
                   intro + filter_form(shown)
                   + table(headers, rows, css_class="findings sortable", table_id="findings-table"))


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
        rows.append(f'<tr data-waiver="{e(r.get("id"))}" data-state="{e(r["state"])}">'
                    + cell(code(r.get("id")), css_class="nowrap") + cell(state_badge, state_order[r["state"]])
                    + cell(code(r.get("rule"))) + cell(code(r.get("group"))) + cell(code(person))
                    + cell(e(r.get("expires") or ""), r.get("expires") or "", "nowrap")
                    + cell(e(days), days_key if days_key is not None else "", "num")
                    + cell(str(r["suppressed"]), r["suppressed"], "num")
                    + cell(code(r.get("approved_by"))) + cell(e(r.get("reason") or "")) + "</tr>")
    headers = ("Waiver", "State", "Rule", "Group", "Person", "Expires", "Days to expiry", "Suppresses",
               "Approved by", "Reason")
    counts = {s: sum(1 for r in rows_data if r["state"] == s) for s in state_order}
    intro = (f'<p class="note">{counts["in force"]} in force, {counts["unused"]} in force but unused, '
             f'{counts["expired"]} expired. "Suppresses" counts the findings each waiver waives in this run.'
             + ("" if records else " Expiry dates and reasons are not available for this run.") + "</p>")
    return section("waivers", "Waivers", intro + table(headers, rows, css_class="waivers sortable"))
