"""The HTML report's style sheet and script, and the Content-Security-Policy that allows exactly them."""

from __future__ import annotations

import base64
import hashlib

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
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(560px,100%),1fr));gap:22px 28px;
align-items:start}
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
.badge.ch-opened,.badge.ch-introduced,.badge.ch-worsened{background:var(--deny)}.badge.ch-closed,.badge.ch-resolved{background:var(--ok)}
.sub,.desc{color:var(--muted);font-size:12px}.msg{white-space:pre-line;overflow-wrap:anywhere}
tr.group-head th{background:#eef2f6;text-align:left;font-weight:400;padding:8px;white-space:normal;
position:static;border-top:2px solid var(--line)}tr.group-head code{font-weight:700;font-size:13px}
tr.group-head .tally{float:right;color:var(--muted);font-size:12px}
td.message{min-width:260px}.bootstrap{margin:0 0 10px;padding:8px 10px;border-left:5px solid var(--warn);
background:#fff4e0;font-weight:600}
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
@media (max-width:640px){
body{padding:12px 12px 32px}h1{font-size:22px}.stat{min-width:0;flex:1 1 40%}
table.cards thead{display:none}
table.cards,table.cards tbody,table.cards tr,table.cards td,table.cards th{display:block;width:auto}
table.cards tr{padding:6px 0;border-bottom:1px solid var(--line)}table.cards td{border:0;padding:2px 8px}
table.cards td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:12px}
table.cards td:empty{display:none}table.rules td.num{display:inline-block}
table.findings td.level,table.findings td.rule{display:inline-block}td.where,td.message{min-width:0;max-width:none}
tr.group-head .tally{float:none;display:block}
.controls input{width:100%}.controls label{flex:1 1 100%}
}
@media print{
@page{margin:14mm 12mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{max-width:none;padding:0;font-size:10pt}
nav,.controls{display:none!important}
tr[hidden]{display:table-row!important}tbody[hidden]{display:table-row-group!important}
td.where{min-width:0;max-width:200px}td.message{min-width:0}tr.group-head{break-after:avoid}
.findings .sub,.findings .badge{font-size:8pt}th,td{padding:3px 5px}
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
  function isHead(row) { return row.classList.contains("group-head"); }
  function bodyRows(body) { return Array.prototype.filter.call(body.rows, function (r) { return !isHead(r); }); }
  // Sorts the rows of each row group (a group's findings stay under its heading).
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
        Array.prototype.forEach.call(table.tBodies, function (body) {
          var keyed = bodyRows(body).map(function (row, i) { return [keyOf(row, index), i, row]; });
          keyed.sort(function (x, y) { return (ascending ? 1 : -1) * compare(x[0], y[0]) || x[1] - y[1]; });
          var fragment = document.createDocumentFragment();
          keyed.forEach(function (k) { fragment.appendChild(k[2]); });
          body.appendChild(fragment);
        });
      });
    });
  }
  function filterable(table, form) {
    var bodies = Array.prototype.slice.call(table.tBodies);
    var rows = [];
    bodies.forEach(function (body) { rows = rows.concat(bodyRows(body)); });
    var texts = rows.map(function (row) {
      return (row.parentNode.getAttribute("data-group") + " " + row.textContent).toLowerCase();
    });
    var query = form.elements.namedItem("q"), state = form.elements.namedItem("status");
    var rule = form.elements.namedItem("rule"), change = form.elements.namedItem("change");
    var shown = form.elements.namedItem("shown");
    function apply() {
      var q = query.value.trim().toLowerCase(), n = 0;
      rows.forEach(function (row, i) {
        var ok = (!q || texts[i].indexOf(q) >= 0) && (!state.value || row.getAttribute("data-status") === state.value)
          && (!rule.value || row.getAttribute("data-rule") === rule.value)
          && (!change || !change.value || row.getAttribute("data-change") === change.value);
        row.hidden = !ok;
        if (ok) { n += 1; }
      });
      bodies.forEach(function (body) { body.hidden = bodyRows(body).every(function (r) { return r.hidden; }); });
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
