"""The HTML report's drift section, for `audit --observed` (SPEC §8)."""

from __future__ import annotations

from checker.models import RunResult
from checker.report.html_markup import as_int, cell, code, e, meta_records, section, table


def drift_section(result: RunResult) -> str:
    """Declared vs observed member counts per matched group, the largest gaps first."""
    records = meta_records(result, "drift_groups")
    if not records:
        return ""
    rows = []
    for r in records:
        gap = as_int(r.get("gap"))
        rows.append("<tr>" + cell(code(r.get("group"))) + cell(e(r.get("platform") or ""))
                    + cell(code(r.get("external_id")))
                    + cell(str(as_int(r.get("declared"))), as_int(r.get("declared")), "num")
                    + cell(str(as_int(r.get("observed"))), as_int(r.get("observed")), "num")
                    + cell(f"{gap:+d}", abs(gap), "num") + "</tr>")
    used = ", ".join(f"{s.get('platform')} ({s.get('taken_at')}, {s.get('file')})"
                     for s in meta_records(result, "observed"))
    intro = (f'<p class="note">Judged on what the platforms hold: {e(used)}. Each row is an inventory group and its '
             "platform counterpart; the gap is observed minus declared members, owner included.</p>")
    headers = ("Group", "Platform", "Platform id", "Declared members", "Observed members", "Gap")
    return section("drift", "Drift: declared vs observed", intro + table(headers, rows, css_class="drift sortable"))
