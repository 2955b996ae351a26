"""The HTML report in a real browser (headless Chromium): it loads without console messages, requests nothing
from the network, its script runs (and only its script), and sorting and filtering work.

Chromium is driven through its command line only (--dump-dom, --screenshot, --enable-logging, --log-net-log), so
the test needs no Python dependency. Each check that looks for an absence (no console message, no request) is
paired with a positive control page that must trip it, so a check that can no longer see anything fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest
from test_html import FINDINGS, csp_source, finding_rows, full_result, parse, render, row_identity

from tests.conftest import run_checker

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")

# Keep the browser from talking to anything by itself, and make every host name unresolvable, so a request
# the page makes fails fast; the net log still records that it was attempted.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         "--host-resolver-rules=MAP * ~NOTFOUND")
CONSOLE_LINE = re.compile(r":CONSOLE[:(\]]")


@dataclass
class Visit:
    dom: str
    console: list[str]  # every console message and CSP report the page caused
    requests: list[str]  # URLs the page asked the network stack for
    stderr: str


def page_requests(net_log: Path) -> list[str]:
    """URL requests made on behalf of a file:// page (the browser's own background requests carry another
    network isolation key; the file itself is read without a network request)."""
    text = net_log.read_text(encoding="utf-8")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut short at exit lacks its closing brackets
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [event["params"]["url"] for event in log["events"]
            if event["type"] == start_job and "file://" in str(event.get("params", {}).get("network_isolation_key"))]


def visit(page: Path, tmp_path: Path, *extra: str) -> Visit:
    profile = tmp_path / f"profile-{page.stem}"
    net_log = tmp_path / f"net-{page.stem}.json"
    assert CHROMIUM is not None
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={net_log}", *extra,
                          page.resolve().as_uri()], capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    console = [line for line in run.stderr.splitlines() if CONSOLE_LINE.search(line)]
    return Visit(run.stdout, console, page_requests(net_log), run.stderr)


def body_attributes(dom: str) -> dict[str, str | None]:
    return parse(dom).find("body").attrs


# ---------------------------------------------------------------- the checks can see what they look for


def test_positive_control_the_checks_catch_console_messages_and_requests(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/pixel.png">'
                    '<script>console.error("boom"); fetch("https://example.invalid/x").catch(function () {});'
                    'document.body.setAttribute("data-ready", "true");</script></body></html>', encoding="utf-8")
    seen = visit(page, tmp_path, "--dump-dom")
    assert body_attributes(seen.dom).get("data-ready") == "true"
    assert any('"boom"' in line for line in seen.console), seen.stderr[-2000:]
    assert "http://example.invalid/pixel.png" in seen.requests
    assert "https://example.invalid/x" in seen.requests


# ---------------------------------------------------------------- the report


def test_report_loads_quietly_offline_and_only_its_own_script_runs(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(full_result()), encoding="utf-8")  # with <script> and onerror= in ids and messages
    seen = visit(page, tmp_path, "--dump-dom")
    assert seen.console == []
    assert seen.requests == []
    attrs = body_attributes(seen.dom)
    assert attrs.get("data-ready") == "true", "the inline script ran (its CSP hash matches)"
    assert "data-pwned" not in attrs, "no injected script ran"
    dom = parse(seen.dom)
    assert "hidden" not in dom.find("form", id="findings-filter").attrs
    assert len(finding_rows(dom)) == len(FINDINGS)
    assert len(dom.find_all("script")) == 1


def replace_script_src(document: str, sources: str) -> str:
    """The report with its CSP script-src set to `sources` (the attribute value is HTML-escaped)."""
    match = re.search(r"script-src (&#x27;sha256-[^;]+&#x27;)", document)
    assert match is not None, "the report's CSP names its script by hash"
    return document.replace(match.group(0), "script-src " + escape(sources), 1)


def test_report_reads_without_javascript(tmp_path: Path) -> None:
    # --blink-settings=scriptEnabled=false also disables --dump-dom; a CSP that forbids every script does not.
    page = tmp_path / "report.html"
    page.write_text(replace_script_src(render(full_result()), "'none'"), encoding="utf-8")
    seen = visit(page, tmp_path, "--dump-dom")
    dom = parse(seen.dom)
    assert "data-ready" not in dom.find("body").attrs, "the script did not run"
    assert "hidden" in dom.find("form", id="findings-filter").attrs, "controls that cannot work stay hidden"
    rows = finding_rows(dom)
    assert len(rows) == len(FINDINGS) and all("hidden" not in r.attrs for r in rows)
    assert len(seen.console) == 1 and "Content Security Policy" in seen.console[0], seen.console
    assert seen.requests == []


# Clicks and types like a user would, after the report's script has run, and leaves what it saw on <body>.
HARNESS = """
(function () {
  "use strict";
  var out = {}, table = document.getElementById("findings-table"), form = document.getElementById("findings-filter");
  function rows() { return Array.prototype.slice.call(table.querySelectorAll("tr[data-rule]")); }
  function visible() { return rows().filter(function (r) { return !r.hidden; }); }
  function ids(list) {
    return list.map(function (r) { return [r.getAttribute("data-rule"), r.getAttribute("data-group"),
                                           r.getAttribute("data-person"), r.getAttribute("data-waiver")]; });
  }
  function set(name, value, type) {
    var field = form.elements.namedItem(name);
    field.value = value;
    field.dispatchEvent(new Event(type, {bubbles: true}));
  }
  set("status", "deny", "change");
  out.deny = ids(visible());
  out.denyCount = form.elements.namedItem("shown").value;
  set("status", "", "change");
  set("q", "LI.WEI", "input");
  out.search = ids(visible());
  set("rule", "training-expired", "change");
  out.searchAndRule = ids(visible());
  set("rule", "", "change");
  set("q", "", "input");
  out.all = visible().length;
  set("status", "waived", "change");
  out.waivedGroups = Array.prototype.filter.call(table.tBodies, function (b) { return !b.hidden; }).map(
    function (b) { return b.getAttribute("data-group"); });
  set("status", "", "change");
  var change = form.elements.namedItem("change");
  if (change) {
    set("change", "introduced", "change");
    out.introduced = ids(visible());
    set("change", "", "change");
  }
  var header = table.tHead.rows[0].cells[2];
  header.querySelector("button.sort").click();
  out.ascending = ids(rows());
  out.ariaAscending = header.getAttribute("aria-sort");
  header.querySelector("button.sort").click();
  out.descending = ids(rows());
  out.ariaDescending = header.getAttribute("aria-sort");
  document.body.setAttribute("data-test-result", JSON.stringify(out));
}());
"""


def with_harness(document: str) -> str:
    """The report plus HARNESS, its hash added to the page's script-src (the CSP would block it otherwise)."""
    own = parse(document).find("script").text()
    document = replace_script_src(document, f"{csp_source(own)} {csp_source(HARNESS)}")
    return document.replace("</body>", f"<script>{HARNESS}</script>\n</body>", 1)


def test_sorting_and_filtering_work_in_the_browser(tmp_path: Path) -> None:
    document = render(full_result())
    original = finding_rows(parse(document))
    page = tmp_path / "harness.html"
    page.write_text(with_harness(document), encoding="utf-8")
    seen = visit(page, tmp_path, "--dump-dom")
    assert seen.console == [] and seen.requests == []
    result: dict[str, Any] = json.loads(body_attributes(seen.dom)["data-test-result"] or "{}")

    def ids(rows: list[Any]) -> list[list[str]]:
        return [list(row_identity(r)) for r in rows]

    assert result["deny"] == ids([r for r in original if r.get("data-status") == "deny"])
    assert result["denyCount"] == f"4 of {len(original)} findings shown"
    li_wei = [r for r in original if "li.wei" in r.text().lower()]
    assert result["search"] == ids(li_wei) and len(li_wei) == 3
    assert result["searchAndRule"] == ids([r for r in li_wei if r.get("data-rule") == "training-expired"])
    assert result["all"] == len(original)
    assert result["waivedGroups"] == [r.get("data-group") for r in original if r.get("data-status") == "waived"], \
        "groups with no row left to show are hidden too"
    # Sorting orders the rows of each group (by person here, the third column); groups stay where they are.
    groups = list(dict.fromkeys(r.get("data-group") for r in original))

    def by_person(reverse: bool) -> list[Any]:
        return [row for g in groups for row in sorted((r for r in original if r.get("data-group") == g),
                                                      key=lambda r: r.get("data-person").lower(), reverse=reverse)]

    assert result["ascending"] == ids(by_person(False)) and result["ariaAscending"] == "ascending"
    assert result["descending"] == ids(by_person(True)) and result["ariaDescending"] == "descending"


def test_a_diff_report_filters_by_change_in_the_browser(tmp_path: Path) -> None:
    findings = tuple(f.with_(change=c) for f, c in zip(FINDINGS, ("introduced", "resolved", "unchanged") * 9,
                                                          strict=False))
    document = render(full_result(command="diff", findings=findings))
    page = tmp_path / "diff.html"
    page.write_text(with_harness(document), encoding="utf-8")
    seen = visit(page, tmp_path, "--dump-dom")
    assert seen.console == [] and seen.requests == []
    result: dict[str, Any] = json.loads(body_attributes(seen.dom)["data-test-result"] or "{}")
    expected = [list(row_identity(r)) for r in finding_rows(parse(document)) if r.get("data-change") == "introduced"]
    assert result["introduced"] == expected and expected


# A page that shows the report in a 420-pixel frame (headless Chromium's own window is at least 500 wide) and
# leaves on <body> how wide the report lays out in it, to see whether anything sticks out of a narrow screen.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="report" src="example.html" width="420" height="900" style="border:0"></iframe>
<script>
var frame = document.getElementById("report");
function measure() {
  var root = frame.contentDocument.documentElement;
  if (!frame.contentDocument.body || frame.contentDocument.body.getAttribute("data-ready") !== "true") {
    setTimeout(measure, 50); return;
  }
  document.body.setAttribute("data-widths", JSON.stringify({page: root.scrollWidth, view: root.clientWidth}));
}
frame.addEventListener("load", measure);
</script></body></html>"""


def test_example_org_report_fits_a_420_pixel_screen_and_prints_in_few_pages(tmp_path: Path) -> None:
    page = tmp_path / "example.html"
    run = run_checker("audit", "--as-of", "2026-11-29", "--no-cache", "--format", "html", "--output", str(page))
    assert run.returncode == 1, run.stderr
    frame = tmp_path / "frame.html"
    frame.write_text(FRAME, encoding="utf-8")
    seen = visit(frame, tmp_path, "--dump-dom", "--allow-file-access-from-files", "--virtual-time-budget=5000")
    widths = json.loads(body_attributes(seen.dom).get("data-widths") or "{}")
    assert widths.get("view") == 420 and widths["page"] <= 420, widths
    shot = tmp_path / "narrow.png"
    visit(frame, tmp_path, f"--screenshot={shot}", "--allow-file-access-from-files", "--window-size=500,900")
    assert png_size(shot) == (500, 900)
    pdf = tmp_path / "report.pdf"
    visit(page, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 1 < pages <= 12, f"{pages} pages"  # 20 before findings were grouped and remediation said once
    keep = os.environ.get("CHECKER_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep.replace(".png", "") + "-420.png")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_example_org_report_in_the_browser(tmp_path: Path) -> None:
    """The real command's report: loads quietly and offline, and renders to a screenshot (kept where
    CHECKER_REPORT_SCREENSHOT points, for a look by a human or a CI artifact)."""
    page = tmp_path / "example.html"
    run = run_checker("audit", "--as-of", "2026-11-29", "--no-cache", "--format", "html", "--output", str(page))
    assert run.returncode == 1, run.stderr
    seen = visit(page, tmp_path, "--dump-dom")
    assert seen.console == [] and seen.requests == []
    assert body_attributes(seen.dom).get("data-ready") == "true"
    shot = tmp_path / "report.png"
    visit(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400")
    assert png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > 50_000, "a blank page compresses to a few kilobytes"
    keep = os.environ.get("CHECKER_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
