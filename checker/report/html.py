"""A self-contained HTML audit report: one file, no network, readable printed and without JavaScript.

Sections: a headline (counts, date, engine, inventory commit), charts (findings by rule, platform and
owner location; the largest sensitive groups), the rules with their # METADATA, every finding in one
table (sortable and filterable by a small inline script when JavaScript runs; all rows are in the HTML
regardless), the waivers, and a compliance trend when the command supplies history.

Besides the findings the report reads these optional `result.meta` keys; a section whose key is
missing or malformed is left out (or reduced), never an error:

- "inventory_commit": str, shown in the headline.
- "groups": list of group summaries (checker.report.common_groups.group_summaries): the platform and
  owner-location charts and the largest sensitive groups.
- "waivers": list of waiver records (checker.report.common_groups.waiver_summaries): expiry dates and
  days to expiry; without it the waiver table is built from the findings alone.
- "history": list of {"date": "YYYY-MM-DD", "commit": str, "counts": {rule: {"deny": n, "warn": n}}},
  oldest first: the compliance trend.
- "history_changes": list of {"date", "change": "opened" | "closed", "rule", "group", "person"}.
- "source_link_base": str prepended to finding file paths in links (e.g. a repository's blob URL at
  the audited commit); without it links are relative to where the checker ran, which is right for a
  report written to the repository root. With an http(s) base, "#L<line>" is appended.

Every text that comes from the inventory, the policies or meta is escaped with html.escape; a
Content-Security-Policy allows only this page's own style block and script (by hash), so nothing can
be fetched from anywhere even if some markup slipped through.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any, TextIO
from urllib.parse import quote

from checker import __version__
from checker.models import CHANGES, Finding, RunResult
from checker.report.common import fail_on, plural, rule_ids, rule_info
from checker.report.svg import Bar, Segment, Series, bar_chart, line_chart

STATUSES = ("deny", "warn", "waived")  # a finding's status: waived, else its level
STATUS_LABELS = {"deny": "open deny", "warn": "open warn", "waived": "waived"}
MAX_BARS = 15  # bars per chart; the rest are summed into one "other" bar
LARGEST_GROUPS = 12
EXPIRING_SOON_DAYS = 30


def status(finding: Finding) -> str:
    return "waived" if finding.waived else finding.level


def e(value: object) -> str:
    """Escaped text for element content and attribute values alike."""
    return escape("" if value is None else str(value), quote=True)


# ---------------------------------------------------------------- reading meta defensively


def meta_records(result: RunResult, key: str) -> list[Mapping[str, Any]]:
    """A list-of-mappings meta value; anything else reads as absent."""
    value = result.meta.get(key)
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def meta_text(result: RunResult, key: str) -> str:
    value = result.meta.get(key)
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------- small markup helpers


def table(headers: Sequence[str], rows: Iterable[str], *, css_class: str = "", table_id: str = "") -> str:
    ident = f' id="{e(table_id)}"' if table_id else ""
    cls = f' class="{e(css_class)}"' if css_class else ""
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    return f"<table{ident}{cls}><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "</tbody></table>"


def cell(content: str, sort_key: object = None, css_class: str = "") -> str:
    """A <td> whose content is already markup; sort_key orders it when the script sorts the table."""
    key = f' data-sort="{e(sort_key)}"' if sort_key is not None else ""
    cls = f' class="{e(css_class)}"' if css_class else ""
    return f"<td{key}{cls}>{content}</td>"


def badge(kind: str, text: str | None = None) -> str:
    return f'<span class="badge {e(kind)}">{e(text if text is not None else kind)}</span>'


def code(value: object) -> str:
    return f"<code>{e(value)}</code>" if value not in (None, "") else ""


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{e(section_id)}">\n<h2>{e(title)}</h2>\n{body}\n</section>'


def figure(caption: str, svg: str, note: str = "", css_class: str = "") -> str:
    detail = f'<p class="note">{e(note)}</p>' if note else ""
    cls = f' class="{e(css_class)}"' if css_class else ""
    return f"<figure{cls}><figcaption>{e(caption)}</figcaption>{svg}{detail}</figure>"


def breakable_path(path: str) -> str:
    """An escaped path that may wrap after each `/` (and only there, unless a part is too long)."""
    return "/<wbr>".join(e(part) for part in path.split("/"))


def source_href(file: str, line: int, base: str) -> str:
    """A link to a finding's file: base + path (plus #L<line> for web hosts), or a file: URI if absolute."""
    path = quote(file, safe="/")
    if base:
        fragment = f"#L{line}" if base.startswith(("http://", "https://")) else ""
        return base + path + fragment
    if file.startswith("/"):
        return "file://" + path
    return path  # relative; quote() turned any ':' into %3A, so it can never read as a scheme


def location_link(finding: Finding, base: str) -> str:
    if finding.location is None:
        return ""
    file, line = finding.location.file, finding.location.line
    return (f'<a class="loc" href="{e(source_href(file, line, base))}" data-file="{e(file)}" '
            f'data-line="{line}">{breakable_path(file)}:{line}</a>')


# ---------------------------------------------------------------- headline


def verdict(result: RunResult) -> str:
    level = fail_on(result)
    failing = result.failing(level)
    if level == "never":
        return '<p class="verdict">--fail-on never: the run does not fail on findings.</p>'
    if failing:
        return (f'<p class="verdict fails">Fails at --fail-on {e(level)}: '
                f"{e(plural(len(failing), 'finding'))} at or above {e(level)}.</p>")
    return f'<p class="verdict passes">Passes at --fail-on {e(level)}: nothing open at or above {e(level)}.</p>'


def page_title(result: RunResult) -> str:
    return "Access audit" if result.command == "audit" else f"Access check ({result.command})"


def headline(result: RunResult, groups: Mapping[str, Mapping[str, Any]]) -> str:
    counts = result.counts()
    stats = [("groups", "groups", counts["groups"]), ("people", "people", counts["people"])]
    if groups:
        stats.append(("sensitive", "sensitive groups", sum(1 for g in groups.values() if g.get("sensitive"))))
    stats += [(s, STATUS_LABELS[s], counts[s]) for s in STATUSES]
    if result.command == "diff":
        stats += [(c, c, counts[c]) for c in CHANGES]
    cards = "".join(f'<div class="stat {e(key)}" data-stat="{e(key)}"><span class="num">{value}</span>'
                    f'<span class="what">{e(label)}</span></div>' for key, label, value in stats)
    facts = [("As of", e(result.as_of)),
             ("Engine", f"{e(result.engine.name)} {e(result.engine.version)}")]
    commit = meta_text(result, "inventory_commit")
    if commit:
        short = f'<code title="{e(commit)}" data-commit="{e(commit)}">{e(commit[:12])}</code>'
        facts.append(("Inventory commit", short))
    facts.append(("Generated by", f"checker {e(__version__)}"))
    fact_list = "".join(f"<div><dt>{e(k)}</dt><dd>{v}</dd></div>" for k, v in facts)
    return (f'<header>\n<h1>{e(page_title(result))} <span class="date">as of {e(result.as_of)}</span></h1>\n'
            f'<dl class="facts">{fact_list}</dl>\n{verdict(result)}\n<div class="stats">{cards}</div>\n</header>')


# ---------------------------------------------------------------- charts


def status_bars(findings: Iterable[Finding], key: Callable[[Finding], str]) -> list[Bar]:
    """One bar per key value, stacked deny / warn / waived, largest first, the tail summed into "other"."""
    counts: dict[str, dict[str, int]] = {}
    for finding in findings:
        per = counts.setdefault(key(finding), dict.fromkeys(STATUSES, 0))
        per[status(finding)] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    if len(ordered) > MAX_BARS:
        rest: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for _, per in ordered[MAX_BARS - 1:]:
            for s in STATUSES:
                rest[s] += per[s]
        ordered = [*ordered[: MAX_BARS - 1], (f"{len(ordered) - MAX_BARS + 1} others", rest)]
    bars = []
    for label, per in ordered:
        note = ", ".join(f"{per[s]} {s}" for s in STATUSES if per[s])
        bars.append(Bar(label, tuple(Segment(per[s], f"s-{s}", s) for s in STATUSES), note=note))
    return bars


def largest_sensitive_groups(groups: Mapping[str, Mapping[str, Any]]) -> list[Bar]:
    sensitive = [g for g in groups.values() if g.get("sensitive")]
    sensitive.sort(key=lambda g: (-as_int(g.get("members")), str(g.get("id"))))
    bars = []
    for g in sensitive[:LARGEST_GROUPS]:
        members = as_int(g.get("members"))
        limit = g.get("max_members")
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else None
        over = limit is not None and members > limit
        classes = ", ".join(str(c) for c in g.get("sensitive_classes") or ())
        note = f"{members}" + (f" / {limit}" if limit is not None else "") + (f" · {classes}" if classes else "")
        bars.append(Bar(str(g.get("id")), (Segment(members, "s-over" if over else "s-within",
                                                   "members over the limit" if over else "members"),),
                        note=note, marker=limit))
    return bars


def charts(result: RunResult, groups: Mapping[str, Mapping[str, Any]]) -> str:
    present = result.present
    if not present and not groups:
        return ""
    figures = []
    legend = ('<p class="legend"><span class="key s-deny"></span>open deny <span class="key s-warn"></span>'
              'open warn <span class="key s-waived"></span>waived</p>')
    if present:
        figures.append(figure("Findings by rule", bar_chart(status_bars(present, lambda f: f.rule),
                                                            title="Findings by rule")))
    if present and groups:
        def group_field(name: str) -> Callable[[Finding], str]:
            return lambda f: str(groups.get(f.group or "", {}).get(name) or "(unknown)")
        figures.append(figure("Findings by platform", bar_chart(status_bars(present, group_field("platform")),
                                                                title="Findings by platform")))
        figures.append(figure("Findings by owner location",
                              bar_chart(status_bars(present, group_field("owner_location")),
                                        title="Findings by owner location"),
                              "The country the group's owner works from."))
    largest = largest_sensitive_groups(groups)
    if largest:
        figures.append(figure(
            "Largest groups holding sensitive data",
            bar_chart(largest, title="Largest sensitive groups", width=1000, label_width=260, note_width=320),
            "Members / the limit of the group's strictest data class (the tick); red when over it.",
            css_class="wide"))
    if not figures:
        return ""
    body = (legend if present else "") + '<div class="charts">' + "".join(figures) + "</div>"
    return section("charts", "Overview", body)


# ---------------------------------------------------------------- rules


def rules_section(result: RunResult) -> str:
    per_rule: dict[str, dict[str, int]] = {}
    for finding in result.present:
        per_rule.setdefault(finding.rule, dict.fromkeys(STATUSES, 0))[status(finding)] += 1
    rows = []
    for rule_id in rule_ids(result):
        info = rule_info(result, rule_id)
        per = per_rule.get(rule_id, dict.fromkeys(STATUSES, 0))
        text = f'<strong>{e(info.title or rule_id)}</strong>'
        if info.description:
            text += f'<div class="desc">{e(info.description)}</div>'
        if info.remediation:
            text += f'<div class="fix"><span>Remediation:</span> {e(info.remediation)}</div>'
        count_cells = "".join(cell(f'<span class="n-{s}">{per[s]}</span>' if per[s] else "0", per[s], "num")
                              for s in STATUSES)
        rows.append(f'<tr id="rule-{e(rule_id)}" data-rule="{e(rule_id)}">'
                    + cell(code(rule_id)) + cell(e(", ".join(info.levels))) + cell(e(info.severity))
                    + cell(text) + count_cells + "</tr>")
    headers = ("Rule", "Level", "Severity", "What it checks", "Deny", "Warn", "Waived")
    return section("rules", "Rules", table(headers, rows, css_class="rules sortable"))


# ---------------------------------------------------------------- findings


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
    return (STATUSES.index(status(finding)), finding.rule, finding.group or "", finding.person or "",
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


# ---------------------------------------------------------------- trend


def history_totals(entry: Mapping[str, Any]) -> dict[str, int]:
    totals = {"deny": 0, "warn": 0}
    counts = entry.get("counts")
    if isinstance(counts, Mapping):
        for per_rule in counts.values():
            if isinstance(per_rule, Mapping):
                for level in totals:
                    totals[level] += as_int(per_rule.get(level))
    return totals


def trend_section(result: RunResult) -> str:
    history = [h for h in meta_records(result, "history") if h.get("date")]
    changes = meta_records(result, "history_changes")
    if not history and not changes:
        return ""
    body = []
    if history:
        totals = [history_totals(h) for h in history]
        dates = [str(h.get("date")) for h in history]
        series = [Series("deny", tuple(t["deny"] for t in totals), "s-deny"),
                  Series("warn", tuple(t["warn"] for t in totals), "s-warn")]
        body.append(figure("Findings over time (open and waived), per level",
                           line_chart(dates, series, title="Compliance trend")))
        rows = [f'<tr data-date="{e(h.get("date"))}">' + cell(e(h.get("date")), str(h.get("date")), "nowrap")
                + cell(f'<code title="{e(h.get("commit") or "")}">{e(str(h.get("commit") or "")[:12])}</code>')
                + cell(str(t["deny"]), t["deny"], "num") + cell(str(t["warn"]), t["warn"], "num") + "</tr>"
                for h, t in zip(history, totals, strict=True)]
        body.append(table(("Date", "Commit", "Deny", "Warn"), rows, css_class="history sortable"))
    if changes:
        rows = [f'<tr data-change="{e(c.get("change"))}">' + cell(e(c.get("date")), str(c.get("date")), "nowrap")
                + cell(badge("ch-" + str(c.get("change")), str(c.get("change"))))
                + cell(code(c.get("rule"))) + cell(code(c.get("group"))) + cell(code(c.get("person"))) + "</tr>"
                for c in changes]
        body.append("<h3>Findings opened and closed</h3>"
                    + table(("Date", "Change", "Rule", "Group", "Person"), rows, css_class="changes sortable"))
    return section("trend", "Compliance trend", "\n".join(body))


# ---------------------------------------------------------------- page


STYLE = """
:root{--deny:#b3261e;--warn:#a65f00;--waived:#5f6b7a;--ok:#2e7d32;--ink:#1f2328;--muted:#5b636d;
--line:#d8dee4;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1280px;padding:24px 28px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
h1{font-size:26px;margin:0 0 8px}h1 .date{font-weight:400;color:var(--muted)}
h2{font-size:19px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:20px 0 8px}
code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word}
a{color:#0b5cad}
nav{margin:14px 0 0;font-size:13px}nav a{margin-right:14px}
.facts{display:flex;flex-wrap:wrap;gap:4px 28px;margin:0 0 8px}.facts div{display:flex;gap:6px}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.verdict{margin:8px 0 14px;font-weight:600}.verdict.fails{color:var(--deny)}.verdict.passes{color:var(--ok)}
.stats{display:flex;flex-wrap:wrap;gap:12px}
.stat{min-width:120px;padding:10px 14px;border:1px solid var(--line);border-radius:8px;background:var(--soft)}
.stat .num{display:block;font-size:26px;font-weight:700;line-height:1.1}.stat .what{color:var(--muted)}
.stat.deny{border-left:5px solid var(--deny)}.stat.deny .num{color:var(--deny)}
.stat.warn{border-left:5px solid var(--warn)}.stat.warn .num{color:var(--warn)}
.stat.waived{border-left:5px solid var(--waived)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:22px 28px;align-items:start}
figure{margin:0;break-inside:avoid}figure.wide{grid-column:1/-1}
figcaption{font-weight:600;margin:0 0 4px}figure .note{font-size:12px;margin:2px 0}
svg.chart{max-width:100%;height:auto;display:block}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--ink)}
svg text.axis,svg text.value{fill:var(--muted)}
svg .grid{stroke:var(--line);stroke-width:1}svg .marker{stroke:var(--ink);stroke-width:2}
.s-deny{fill:var(--deny);stroke:var(--deny)}.s-warn{fill:var(--warn);stroke:var(--warn)}
.s-waived{fill:var(--waived);stroke:var(--waived)}.s-over{fill:var(--deny)}.s-within{fill:#6f8fb3}
svg rect{stroke:none}svg .line{fill:none;stroke-width:2.5}
.legend{margin:0 0 6px;color:var(--muted);font-size:13px}
.key{display:inline-block;width:11px;height:11px;margin:0 5px 0 12px;vertical-align:-1px;border-radius:2px}
.key.s-deny{background:var(--deny)}.key.s-warn{background:var(--warn)}.key.s-waived{background:var(--waived)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
thead th{background:var(--soft);position:sticky;top:0;z-index:1;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.nowrap{white-space:nowrap}
table.history,table.changes{width:auto;min-width:50%}
tbody tr:hover{background:#fbfcfd}
tr.st-deny td:first-child{box-shadow:inset 4px 0 var(--deny)}
tr.st-warn td:first-child{box-shadow:inset 4px 0 var(--warn)}
tr.st-waived td:first-child{box-shadow:inset 4px 0 var(--waived)}tr.st-waived{color:#4a525b}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap;
color:#fff;background:var(--muted)}
.badge.deny{background:var(--deny)}.badge.warn{background:var(--warn)}.badge.waived{background:var(--waived)}
.badge.w-expired{background:var(--deny)}.badge.w-unused{background:var(--warn)}.badge.w-in-force{background:var(--ok)}
.badge.ch-opened,.badge.ch-introduced{background:var(--deny)}.badge.ch-closed,.badge.ch-resolved{background:var(--ok)}
.sub,.desc{color:var(--muted);font-size:12px}.msg{white-space:pre-line;overflow-wrap:anywhere}
.fix{color:var(--muted);font-size:12px;margin-top:3px}.fix span{font-weight:600}
td.where{min-width:210px;max-width:300px}
.loc{overflow-wrap:break-word;font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.n-deny{color:var(--deny);font-weight:700}.n-warn{color:var(--warn);font-weight:700}
.note,.empty{color:var(--muted)}
.controls{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:center;margin:0 0 10px;padding:8px 10px;
background:var(--soft);border:1px solid var(--line);border-radius:6px}
.controls input,.controls select{font:inherit;padding:3px 6px;margin-left:4px}
.controls input{width:240px}.controls output{color:var(--muted)}
button.sort{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:0;cursor:pointer}
button.sort::after{content:" \\2195";color:#9aa3ad}
th[aria-sort=ascending] button.sort::after{content:" \\2191";color:var(--ink)}
th[aria-sort=descending] button.sort::after{content:" \\2193";color:var(--ink)}
footer{margin-top:36px;color:var(--muted);font-size:12px}
[hidden]{display:none!important}
@media print{
@page{margin:14mm 12mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{max-width:none;padding:0;font-size:10pt}
nav,.controls{display:none!important}
tr[hidden]{display:table-row!important}
thead{display:table-header-group}thead th{position:static}
tr,figure{break-inside:avoid}h2{break-after:avoid}
a{color:inherit;text-decoration:none}
.charts{grid-template-columns:1fr}svg.chart{max-width:720px}
button.sort::after{content:""}
}
"""

# Progressive enhancement: sort any .sortable table by a column, filter the findings table. The page
# reads the same without it (every row is in the HTML); it marks <body data-ready> when it has run.
SCRIPT = """
(function () {
  "use strict";
  function keyOf(row, index) {
    var c = row.cells[index];
    if (!c) { return ""; }
    var key = c.getAttribute("data-sort");
    return key !== null ? key : c.textContent.trim().toLowerCase();
  }
  function compare(a, b) {
    var na = Number(a), nb = Number(b);
    if (a !== "" && b !== "" && !isNaN(na) && !isNaN(nb)) { return na - nb; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  function sortable(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    headers.forEach(function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var keyed = Array.prototype.map.call(body.rows, function (row, i) { return [keyOf(row, index), i, row]; });
        keyed.sort(function (x, y) { return (ascending ? 1 : -1) * compare(x[0], y[0]) || x[1] - y[1]; });
        var fragment = document.createDocumentFragment();
        keyed.forEach(function (k) { fragment.appendChild(k[2]); });
        body.appendChild(fragment);
      });
    });
  }
  function filterable(table, form) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    var query = form.elements.namedItem("q"), state = form.elements.namedItem("status");
    var rule = form.elements.namedItem("rule"), shown = form.elements.namedItem("shown");
    function apply() {
      var q = query.value.trim().toLowerCase(), n = 0;
      rows.forEach(function (row, i) {
        var ok = (!q || texts[i].indexOf(q) >= 0) && (!state.value || row.getAttribute("data-status") === state.value)
          && (!rule.value || row.getAttribute("data-rule") === rule.value);
        row.hidden = !ok;
        if (ok) { n += 1; }
      });
      shown.value = n === rows.length ? rows.length + " findings" : n + " of " + rows.length + " findings shown";
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    apply();
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), sortable);
  var findings = document.getElementById("findings-table"), form = document.getElementById("findings-filter");
  if (findings && form) { filterable(findings, form); }
  document.body.setAttribute("data-ready", "true");
}());
"""


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Nothing may be fetched: no default source at all; only this page's own style block and script run.
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src {csp_hash(STYLE)}; script-src {csp_hash(SCRIPT)}; "
                           "img-src data:; base-uri 'none'; form-action 'none'")


def groups_by_id(result: RunResult) -> dict[str, Mapping[str, Any]]:
    return {str(g["id"]): g for g in meta_records(result, "groups") if "id" in g}


def navigation(sections: Sequence[tuple[str, str]]) -> str:
    return "<nav>" + "".join(f'<a href="#{e(i)}">{e(t)}</a>' for i, t in sections) + "</nav>"


def document(result: RunResult) -> str:
    groups = groups_by_id(result)
    parts = [("charts", "Overview", charts(result, groups)), ("rules", "Rules", rules_section(result)),
             ("findings", "Findings", findings_section(result)), ("waivers", "Waivers", waivers_section(result)),
             ("trend", "Trend", trend_section(result))]
    present = [(i, t, html) for i, t, html in parts if html]
    title = f"{page_title(result)} as of {result.as_of}"
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f'<meta http-equiv="Content-Security-Policy" content="{e(CONTENT_SECURITY_POLICY)}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="referrer" content="no-referrer">\n',
        f'<meta name="generator" content="checker {e(__version__)}">\n',
        f"<title>{e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        headline(result, groups), "\n", navigation([(i, t) for i, t, _ in present]), "\n<main>\n",
        "\n".join(html for _, _, html in present),
        f"\n</main>\n<footer>Generated by checker {e(__version__)} with {e(result.engine.name)} "
        f"{e(result.engine.version)}. This file is self-contained: it loads nothing from the network.</footer>\n",
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n",
    ])


def render(result: RunResult, stream: TextIO) -> None:
    stream.write(document(result))

