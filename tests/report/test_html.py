"""The HTML audit report: parsed back with the standard library's html.parser and checked against the result
it was rendered from (hand-built here) and against the JSON output of the same CLI run on the example org."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from checker.inventory import Known, load
from checker.models import Engine, Finding, Location, RuleInfo, RunResult
from checker.report import html as html_report
from checker.report import html_markup
from checker.report.common_groups import group_summaries, waiver_summaries
from checker.report.svg import Bar, Segment, Series, axis_ticks, bar_chart, line_chart
from tests.conftest import ROOT, run_checker

# ---------------------------------------------------------------- a small DOM from html.parser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]

    def get(self, name: str) -> str:
        value = self.attrs.get(name)
        assert value is not None, f"<{self.tag}> has no {name}"
        return value


class TreeBuilder(HTMLParser):
    """Builds Nodes, checking that every element the report opens is closed in order (well-formed output)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), f"duplicate attribute in <{tag} {attrs}>"
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(document: str) -> Node:
    builder = TreeBuilder()
    builder.feed(document)
    builder.close()
    assert builder.stack == [builder.root], f"unclosed elements: {[n.tag for n in builder.stack]}"
    return builder.root


def render(result: RunResult) -> str:
    stream = io.StringIO()
    html_report.render(result, stream)
    return stream.getvalue()


def finding_rows(dom: Node) -> list[Node]:
    """Every finding's row, across the table's row groups (one <tbody> per group, opened by its heading)."""
    return [row for body in group_bodies(dom) for row in body.find_all("tr") if "data-rule" in row.attrs]


def group_bodies(dom: Node) -> list[Node]:
    return dom.find("table", id="findings-table").find_all("tbody")


def stats(dom: Node) -> dict[str, int]:
    return {n.get("data-stat"): int(n.find("span", **{"class": "num"}).text())
            for n in dom.find_all("div") if "data-stat" in n.attrs}


def row_identity(row: Node) -> tuple[str, str, str, str]:
    return (row.get("data-rule"), row.get("data-group"), row.get("data-person"), row.get("data-waiver"))


def finding_identity(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.rule, finding.group, finding.person or "", finding.waiver or "")


# ---------------------------------------------------------------- a hand-built result with every section

HOSTILE_GROUP = "evil<script>alert(1)</script>"
HOSTILE_PERSON = '"><img src=x onerror=alert(1)>'
HOSTILE_MESSAGE = "</td></tr></table><script>document.body.setAttribute('data-pwned','1')</script> & more"
ENGINE = Engine("embedded", "regopy 1.5.2")

RULES = {
    "owner-location": RuleInfo("owner-location", "access.owner_location", "policies/owner_location/x.rego",
                               ("deny",), title="Owner outside the approved locations",
                               description="Owners of sensitive groups work from approved locations.",
                               remediation="Hand the group to an owner in an approved location.", severity="high"),
    "member-location": RuleInfo("member-location", "access.member_location", "policies/member_location/x.rego",
                                ("deny",), title="Member <b>outside</b> the approved locations",
                                remediation="Remove the member </div><script>alert(2)</script>", severity="high"),
    "training-expired": RuleInfo("training-expired", "access.training_expired", "policies/training_expired/x.rego",
                                 ("warn",), title="Privacy training missing or expired",
                                 remediation="Complete the privacy training.", severity="low"),
}


def loc(file: str, line: int) -> Location:
    return Location(file, line)


FINDINGS = (
    Finding("owner-location", "deny", "lark-sg-us-appeals", None, "owner priya.nair works from SG",
            loc("inventories/groups/lark/sg-us-appeals.yaml", 4)),
    Finding("member-location", "deny", HOSTILE_GROUP, HOSTILE_PERSON, HOSTILE_MESSAGE,
            loc('inventories/groups/odd <b>name</b>: "v2".yaml', 12)),
    Finding("member-location", "deny", "lark-ttsafety-general", "li.wei", "li.wei works from CN\nsecond line",
            loc("inventories/groups/lark/ttsafety-general.yaml", 37)),
    Finding("training-expired", "warn", "lark-ttsafety-general", "li.wei", "no privacy training on record",
            loc("javascript:alert(1)", 1)),
    Finding("owner-location", "deny", "lark-cn-ops-review", None, "owner li.wei works from CN",
            loc("inventories/groups/lark/cn-ops-review.yaml", 5), waived=True, waiver="w-2026-014"),
    Finding("waiver-expired", "warn", "slack-privacy-dsar", None, "waiver w-2026-031 expired on 2026-06-30",
            loc("inventories/waivers.yaml", 22), waiver="w-2026-031"),
    Finding("waiver-unused", "warn", "slack-us-trust-safety-ops", None, "waiver w-2026-040 matches nothing",
            loc("inventories/waivers.yaml", 30), waiver="w-2026-040"),
    Finding("departed-owner", "deny", "gg-finance", None, "owner of gg-finance has departed"),  # no location
)


def group(gid: str, platform: str, owner_location: str, members: int, classes: list[str],
          limit: int | None) -> dict[str, Any]:
    sensitive = [c for c in classes if c not in ("public", "internal")]
    return {"id": gid, "platform": platform, "kind": "chat", "owner": "someone", "owner_location": owner_location,
            "members": members, "data_classes": classes, "sensitive_classes": sensitive, "sensitive": bool(sensitive),
            "max_members": limit, "subject_jurisdictions": ["US"], "location": {"file": "x.yaml", "line": 1}}


META: dict[str, Any] = {
    "inventory_commit": "0123456789abcdef0123456789abcdef01234567",
    "groups": [
        group("lark-sg-us-appeals", "lark", "SG", 4, ["user_pii"], 200),
        group(HOSTILE_GROUP, "slack<i>", "CN", 1100, ["government_id", "user_pii"], 50),
        group("lark-ttsafety-general", "lark", "US", 60, ["government_id"], 50),
        group("lark-cn-ops-review", "lark", "CN", 3, ["user_pii"], 200),
        group("slack-privacy-dsar", "slack", "IE", 6, ["user_pii"], 200),
        group("slack-us-trust-safety-ops", "slack", "US", 7, ["user_pii"], 200),
        group("gg-finance", "google-groups", "US", 12, ["financial"], 100),
        group("slack-random", "slack", "US", 900, ["internal"], None),
    ],
    "waivers": [
        {"id": "w-2026-014", "rule": "owner-location", "group": "lark-cn-ops-review", "person": None,
         "expires": "2026-12-09", "approved_by": "ana.ruiz", "reason": "Owner moves <soon>",
         "location": {"file": "inventories/waivers.yaml", "line": 6}},
        {"id": "w-2026-031", "rule": "member-location", "group": "slack-privacy-dsar", "person": "james.whitfield",
         "expires": "2026-06-30", "approved_by": "aoife.murphy", "reason": "Q2 cover",
         "location": {"file": "inventories/waivers.yaml", "line": 22}},
        {"id": "w-2026-040", "rule": "sensitive-group-size", "group": "slack-us-trust-safety-ops", "person": None,
         "expires": "2027-03-31", "approved_by": "ana.ruiz", "reason": "Channel split",
         "location": {"file": "inventories/waivers.yaml", "line": 30}},
    ],
    "history": [
        {"date": "2026-09-01", "commit": "aaaa1111", "counts": {"owner-location": {"deny": 5, "warn": 0},
                                                                "training-expired": {"deny": 0, "warn": 9}}},
        {"date": "2026-10-01", "commit": "bbbb2222", "counts": {"owner-location": {"deny": 4, "warn": 0},
                                                                "training-expired": {"deny": 0, "warn": 3}}},
        {"date": "2026-11-01", "commit": "<cccc>", "counts": {"owner-location": {"deny": 3, "warn": 0}}},
    ],
    "history_changes": [
        {"date": "2026-10-01", "change": "closed", "rule": "training-expired", "group": "lark-ttsafety-general",
         "person": "li.wei"},
        {"date": "2026-11-01", "change": "opened", "rule": "owner-location", "group": HOSTILE_GROUP, "person": None},
    ],
}


def full_result(**changes: Any) -> RunResult:
    result = RunResult("audit", "2026-11-29", ENGINE, 8, 30, FINDINGS, RULES, meta=META)
    return dataclasses.replace(result, **changes)


# ---------------------------------------------------------------- headline and findings


def test_headline_shows_the_counts_date_engine_and_commit() -> None:
    result = full_result()
    dom = parse(render(result))
    counts = result.counts()
    assert stats(dom) == {"groups": 8, "people": 30, "sensitive": 7, "deny": counts["deny"], "warn": counts["warn"],
                          "waived": counts["waived"]}
    assert (counts["deny"], counts["warn"], counts["waived"]) == (4, 3, 1)
    header = dom.find("header").text()
    assert "2026-11-29" in header and "embedded regopy 1.5.2" in header
    assert dom.find("code", data_commit=META["inventory_commit"]).text() == META["inventory_commit"][:12]
    assert "Fails at --fail-on deny: 4 findings" in header


def test_verdict_follows_the_recorded_fail_on_level() -> None:
    only_warn = full_result(findings=tuple(f for f in FINDINGS if f.level == "warn"), fail_on="warn")
    assert "Fails at --fail-on warn: 3 findings" in parse(render(only_warn)).find("header").text()
    assert "Passes at --fail-on deny" in parse(render(full_result(findings=only_warn.findings))).find("header").text()
    never = parse(render(full_result(fail_on="never"))).find("header").text()
    assert "--fail-on never: the run does not fail on findings" in never


def test_every_finding_is_one_row_with_its_rule_metadata_and_location() -> None:
    result = full_result()
    rows = finding_rows(parse(render(result)))
    assert sorted(map(row_identity, rows)) == sorted(map(finding_identity, result.findings))
    by_identity = {row_identity(r): r for r in rows}
    for finding in result.findings:
        row = by_identity[finding_identity(finding)]
        text = row.text()
        assert finding.message in text
        assert row.get("data-status") == ("waived" if finding.waived else finding.level)
        info = RULES.get(finding.rule)
        if info is not None:  # the title as a tooltip; the remediation once, under Rules
            assert row.find("a", href=f"#rule-{finding.rule}").get("title") == info.title
            assert info.remediation not in text
        links = row.find_all("a", **{"class": "loc"})
        if finding.location is None:
            assert links == []
            continue
        (link,) = links
        assert link.text() == f"{finding.location.file}:{finding.location.line}"
        assert (link.get("data-file"), link.get("data-line")) == (finding.location.file, str(finding.location.line))
    order = ("deny", "warn", "waived").index
    bodies = group_bodies(parse(render(result)))
    for body in bodies:
        statuses = [r.get("data-status") for r in body.find_all("tr") if "data-rule" in r.attrs]
        assert statuses == sorted(statuses, key=order), "open deny first within a group"
        assert body.find("tr", **{"class": "group-head"}).find("code").text() == body.get("data-group")
    firsts = [min(order(r.get("data-status")) for r in b.find_all("tr") if "data-rule" in r.attrs) for b in bodies]
    assert firsts == sorted(firsts), "groups with open deny findings first"
    assert len(bodies) == len({f.group for f in result.findings}), "one row group per group"


def test_group_headings_say_what_the_inventory_says_of_the_group() -> None:
    dom = parse(render(full_result()))
    (body,) = [b for b in group_bodies(dom) if b.get("data-group") == "lark-ttsafety-general"]
    heading = body.find("tr", **{"class": "group-head"}).text()
    assert "lark-ttsafety-general" in heading and "lark · chat · owner" in heading and "members" in heading
    assert "open deny" in heading


def test_rules_section_lists_metadata_and_counts() -> None:
    dom = parse(render(full_result()))
    row = dom.find("tr", id="rule-member-location")
    assert "Member <b>outside</b> the approved locations" in row.text()
    assert [td.text() for td in row.find_all("td")[-3:]] == ["2", "0", "0"]
    assert dom.find("tr", id="rule-waiver-unused").find_all("td")[-2].text() == "1"


def test_links_are_relative_quoted_and_never_a_script_url() -> None:
    rows = {row_identity(r): r for r in finding_rows(parse(render(full_result())))}
    href = rows[("owner-location", "lark-sg-us-appeals", "", "")].find("a", **{"class": "loc"}).get("href")
    assert href == "inventories/groups/lark/sg-us-appeals.yaml"
    odd = rows[("member-location", HOSTILE_GROUP, HOSTILE_PERSON, "")].find("a", **{"class": "loc"}).get("href")
    assert odd == "inventories/groups/odd%20%3Cb%3Ename%3C/b%3E%3A%20%22v2%22.yaml"
    script = rows[("training-expired", "lark-ttsafety-general", "li.wei", "")].find("a", **{"class": "loc"})
    assert script.get("href") == "javascript%3Aalert%281%29"  # a relative path, not a javascript: URL
    assert html_markup.source_href("/srv/org/groups/a b.yaml", 3, "") == "file:///srv/org/groups/a%20b.yaml"
    assert (html_markup.source_href("inventories/a.yaml", 7, "https://github.com/acme/org/blob/0123abc/")
            == "https://github.com/acme/org/blob/0123abc/inventories/a.yaml#L7")
    assert html_markup.source_href("inventories/a.yaml", 7, "../") == "../inventories/a.yaml"


def test_source_link_base_from_meta_is_used() -> None:
    result = full_result(meta={**META, "source_link_base": "https://git.example/org/blob/abc/"})
    dom = parse(render(result))
    hrefs = [a.get("href") for a in dom.find_all("a", **{"class": "loc"})]
    assert "https://git.example/org/blob/abc/inventories/waivers.yaml#L22" in hrefs
    assert "Locations are relative" not in dom.find("section", id="findings").text()


# ---------------------------------------------------------------- escaping and self-containment


def test_hostile_text_shows_up_as_text_and_never_as_markup() -> None:
    document = render(full_result())
    dom = parse(document)
    assert len(dom.find_all("script")) == 1, "only the report's own script"
    assert all(not name.startswith("on") for node in dom.iter() for name in node.attrs), "no event handlers"
    assert dom.find_all("img") == [] and all("src" not in n.attrs for n in dom.iter())
    (row,) = [r for r in finding_rows(dom) if r.get("data-group") == HOSTILE_GROUP]
    assert row.get("data-person") == HOSTILE_PERSON
    text = row.text()
    assert HOSTILE_MESSAGE in text and HOSTILE_PERSON in text
    (body,) = [b for b in group_bodies(dom) if b.get("data-group") == HOSTILE_GROUP]
    assert HOSTILE_GROUP in body.find("tr", **{"class": "group-head"}).text()
    assert "Remove the member </div><script>alert(2)</script>" in dom.find("tr", id="rule-member-location").text()
    assert "<script>alert" not in document and "<img" not in document
    assert HOSTILE_GROUP in [t.text() for t in dom.find_all("text")], "a chart label, as text"
    changes = dom.find("table", **{"class": "changes sortable"})
    assert HOSTILE_GROUP in changes.text()


EXTERNAL = [
    re.compile(r"<script[^>]*\ssrc\s*=", re.I),
    re.compile(r"<link[^>]*href\s*=\s*[\"']?(https?:)?//", re.I),
    re.compile(r"<img[^>]*src\s*=\s*[\"']?(https?:)?//", re.I),
    re.compile(r"url\(\s*[\"']?(https?:)?//", re.I),
    re.compile(r"@import", re.I),
]


def test_no_external_resources() -> None:
    for result in (full_result(), full_result(meta={})):
        document = render(result)
        for pattern in EXTERNAL:
            assert not pattern.search(document), pattern.pattern
        dom = parse(document)
        loaders = {"link", "img", "iframe", "object", "embed", "frame", "audio", "video", "source", "base"}
        assert not [n.tag for n in dom.iter() if n.tag in loaders]
        assert not [n.tag for n in dom.iter() if "src" in n.attrs or "srcset" in n.attrs]
        assert "url(" not in dom.find("style").text()
        # the only non-fragment http(s) references are SVG namespace declarations, which load nothing
        refs = [v for n in dom.iter() for k, v in n.attrs.items() if v and k in ("href", "xlink:href", "action")]
        assert all(not re.match(r"[a-z][a-z0-9+.-]*:", v) for v in refs), refs


def csp_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_content_security_policy_allows_exactly_the_inline_style_and_script() -> None:
    dom = parse(render(full_result()))
    policy = dom.find("meta", http_equiv="Content-Security-Policy").get("content")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == csp_source(dom.find("style").text())
    assert directives["script-src"] == csp_source(dom.find("script").text())


# ---------------------------------------------------------------- charts, waivers, trend


def test_charts_by_rule_platform_owner_location_and_largest_groups() -> None:
    dom = parse(render(full_result()))
    titles = [svg.find("title").text() for svg in dom.find_all("svg")]
    assert titles[:4] == ["Findings by rule", "Findings by platform", "Findings by owner location",
                          "Largest sensitive groups"]
    largest = dom.find_all("svg")[3]
    labels = [t.text() for t in largest.find_all("text", **{"class": "label"})]
    assert labels[:2] == [HOSTILE_GROUP, "lark-ttsafety-general"]
    assert "slack-random" not in labels, "not sensitive"
    over = largest.find_all("rect", **{"class": "s-over"})
    assert len(over) == 2, "1100 > 50 and 60 > 50"
    platform = dom.find_all("svg")[1]
    assert {t.text() for t in platform.find_all("text", **{"class": "label"})} == {
        "lark", "slack<i>", "slack", "google-groups"}


def test_without_meta_the_report_still_renders_what_it_can() -> None:
    result = full_result(meta={})
    dom = parse(render(result))
    assert [svg.find("title").text() for svg in dom.find_all("svg")] == ["Findings by rule"]
    assert len(finding_rows(dom)) == len(FINDINGS)
    assert dom.find_all("section", id="trend") == []
    states = {r.get("data-waiver"): r.get("data-state") for r in dom.find("section", id="waivers").find_all("tr")
              if "data-waiver" in r.attrs}
    assert states == {"w-2026-014": "in force", "w-2026-031": "expired", "w-2026-040": "unused"}
    assert "sensitive" not in stats(dom)


def test_waivers_show_state_and_days_to_expiry() -> None:
    dom = parse(render(full_result()))
    rows = {r.get("data-waiver"): r for r in dom.find("section", id="waivers").find_all("tr")
            if "data-waiver" in r.attrs}
    assert list(rows) == ["w-2026-031", "w-2026-040", "w-2026-014"], "expired, unused, then in force"
    cells = {wid: [td.text() for td in row.find_all("td")] for wid, row in rows.items()}
    assert cells["w-2026-014"][1:] == ["in force, expiring soon", "owner-location", "lark-cn-ops-review", "",
                                       "2026-12-09", "10 days left", "1", "ana.ruiz", "Owner moves <soon>"]
    assert cells["w-2026-031"][1] == "expired" and cells["w-2026-031"][6] == "expired 152 days ago"
    assert cells["w-2026-040"][1] == "unused" and cells["w-2026-040"][6] == "122 days left"


def test_trend_is_drawn_from_history_with_one_point_per_entry_and_level() -> None:
    dom = parse(render(full_result()))
    trend = dom.find("section", id="trend")
    chart = trend.find("svg")
    points = [c.find("title").text() for c in chart.find_all("circle")]
    assert points == ["2026-09-01: 5 deny", "2026-10-01: 4 deny", "2026-11-01: 3 deny",
                      "2026-09-01: 9 warn", "2026-10-01: 3 warn", "2026-11-01: 0 warn"]
    history = [[td.text() for td in tr.find_all("td")] for tr in trend.find("table").find("tbody").find_all("tr")]
    assert history == [["2026-09-01", "aaaa1111", "5", "9"], ["2026-10-01", "bbbb2222", "4", "3"],
                       ["2026-11-01", "<cccc>", "3", "0"]]
    changes = trend.find_all("tr", data_change="opened") + trend.find_all("tr", data_change="closed")
    assert len(changes) == 2


def test_malformed_meta_is_ignored_rather_than_fatal() -> None:
    meta = {"groups": "nonsense", "waivers": [1, "x", {"id": "w-1", "expires": "not a date"}],
            "history": [3, {"date": "2026-01-01", "counts": "x"}, {"counts": {}}], "history_changes": {"a": 1},
            "inventory_commit": 42}
    dom = parse(render(full_result(meta=meta)))
    assert len(finding_rows(dom)) == len(FINDINGS)
    assert dom.find("tr", data_waiver="w-1").get("data-state") == "in force"
    assert [c.find("title").text() for c in dom.find("section", id="trend").find_all("circle")] == [
        "2026-01-01: 0 deny", "2026-01-01: 0 warn"]


def test_no_findings_reads_as_such() -> None:
    dom = parse(render(full_result(findings=(), meta={})))
    assert "No findings." in dom.find("section", id="findings").text()
    assert dom.find_all("table", id="findings-table") == []
    assert "Passes at --fail-on deny" in dom.find("header").text()


def test_diff_results_list_resolved_findings_with_their_change() -> None:
    findings = (FINDINGS[0].with_(change="introduced"), FINDINGS[2].with_(change="resolved"),
                FINDINGS[4].with_(change="unchanged"))
    dom = parse(render(full_result(command="diff", findings=findings, meta={})))
    assert {r.get("data-change") for r in finding_rows(dom)} == {"introduced", "resolved", "unchanged"}
    assert stats(dom)["introduced"] == 1 and stats(dom)["deny"] == 1


def test_rendering_is_deterministic_and_leaves_the_result_alone() -> None:
    result = full_result()
    before = repr(result)
    assert render(result) == render(result)
    assert repr(result) == before


def test_no_javascript_needed_to_see_content() -> None:
    dom = parse(render(full_result()))
    form = dom.find("form", id="findings-filter")
    assert "hidden" in form.attrs, "controls only appear once the script runs"
    assert all("hidden" not in r.attrs for r in finding_rows(dom))
    style = dom.find("style").text()
    assert "@media print" in style and "tr[hidden]{display:table-row!important}" in style


# ---------------------------------------------------------------- svg helpers


def test_axis_ticks_are_round_and_cover_the_maximum() -> None:
    assert axis_ticks(0) == [0, 1]
    assert axis_ticks(5) == [0, 1, 2, 3, 4, 5]
    assert axis_ticks(23) == [0, 5, 10, 15, 20, 25]
    assert axis_ticks(1234) == [0, 500, 1000, 1500]


def test_bar_chart_scales_bars_and_escapes_labels() -> None:
    svg = bar_chart([Bar("a<b>", (Segment(30, "s-deny", "deny"), Segment(10, "s-warn"))), Bar("c", (Segment(20, "x"),),
                     marker=40)], title="T & <t>", width=600, label_width=100, note_width=100)
    dom = parse(svg)
    widths = [float(r.get("width")) for r in dom.find_all("rect")]
    plot = 600 - 100 - 100 - 16
    assert widths == pytest.approx([plot * 30 / 40, plot * 10 / 40, plot * 20 / 40], abs=0.1)
    assert dom.find("text", **{"class": "label"}).text() == "a<b>"
    assert dom.find("svg").get("aria-label") == "T & <t>"
    assert float(dom.find("line", **{"class": "marker"}).get("x1")) == pytest.approx(100 + plot, abs=0.1)


def test_line_chart_draws_a_point_per_value_and_a_line_per_series() -> None:
    series = [Series("deny", (1, 2, 3), "s-deny"), Series("warn", (0, 0, 5), "s-warn")]
    dom = parse(line_chart(["d1", "d2", "d3"], series, title="trend"))
    assert len(dom.find_all("circle")) == 6 and len(dom.find_all("polyline")) == 2
    single = parse(line_chart(["d1"], [Series("deny", (4,), "s-deny")], title="one"))
    assert len(single.find_all("circle")) == 1 and single.find_all("polyline") == []


# ---------------------------------------------------------------- meta builders from a real inventory

POLICY_DATA = {"data_classes": {"public": {"sensitive": False}, "internal": {"sensitive": False},
                                "user_pii": {"sensitive": True, "max_members": 200},
                                "government_id": {"sensitive": True, "max_members": 50, "employees_only": True}},
               "jurisdictions": {"US": {"staff_locations": ["US"]}}}


def test_group_and_waiver_summaries_from_an_inventory(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text("""\
people:
  - {id: ann, location: US, employment: employee}
  - {id: bo, location: CN, employment: vendor}
groups:
  - id: g-sensitive
    platform: lark
    kind: chat
    owner: bo
    members: [ann]
    data_classes: [user_pii, government_id, internal]
    subject_jurisdictions: [US]
  - id: g-plain
    platform: slack
    kind: channel
    owner: ann
    members: [ann, bo]
waivers:
  - id: w-1
    rule: owner-location
    group: g-sensitive
    reason: moving
    approved_by: ann
    expires: 2027-01-31
""", encoding="utf-8")
    inventory = load(tmp_path, "inv", Known(frozenset(POLICY_DATA["data_classes"]), frozenset({"US"})))
    summaries = group_summaries(inventory, POLICY_DATA)
    assert summaries == [
        {"id": "g-plain", "platform": "slack", "kind": "channel", "owner": "ann", "owner_location": "US",
         "members": 2, "data_classes": [], "sensitive_classes": [], "sensitive": False, "max_members": None,
         "subject_jurisdictions": [], "location": {"file": "inv/org.yaml", "line": 12}},
        {"id": "g-sensitive", "platform": "lark", "kind": "chat", "owner": "bo", "owner_location": "CN",
         "members": 2, "data_classes": ["user_pii", "government_id", "internal"],
         "sensitive_classes": ["user_pii", "government_id"], "sensitive": True, "max_members": 50,
         "subject_jurisdictions": ["US"], "location": {"file": "inv/org.yaml", "line": 5}},
    ]
    assert waiver_summaries(inventory) == [
        {"id": "w-1", "rule": "owner-location", "group": "g-sensitive", "person": None, "expires": "2027-01-31",
         "approved_by": "ann", "reason": "moving", "location": {"file": "inv/org.yaml", "line": 18}}]
    json.dumps(summaries)  # JSON-ready, as meta must be for the json format


# ---------------------------------------------------------------- the real command line on the example org


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("example")
    common = ("audit", "--as-of", "2026-11-29", "--no-cache")
    html_run = run_checker(*common, "--format", "html", "--output", str(out / "report.html"))
    json_run = run_checker(*common, "--format", "json")
    assert html_run.returncode == json_run.returncode == 1, html_run.stderr + json_run.stderr
    return (out / "report.html").read_text(encoding="utf-8"), json.loads(json_run.stdout)


def test_example_org_headline_matches_the_json_of_the_same_run(example_run: tuple[str, dict[str, Any]]) -> None:
    document, doc = example_run
    dom = parse(document)
    shown = stats(dom)
    for key in ("groups", "people", "deny", "warn", "waived"):
        assert shown[key] == doc["summary"][key], key
    header = dom.find("header").text()
    assert doc["as_of"] in header and f"{doc['engine']['name']} {doc['engine']['version']}" in header


def test_example_org_every_json_finding_is_a_row(example_run: tuple[str, dict[str, Any]]) -> None:
    document, doc = example_run
    rows = finding_rows(parse(document))
    expected = sorted((f["rule"], f["group"] or "", f["person"] or "", f["waiver"] or "") for f in doc["findings"])
    assert sorted(map(row_identity, rows)) == expected
    by_identity = {row_identity(r): r for r in rows}
    for f in doc["findings"]:
        row = by_identity[(f["rule"], f["group"] or "", f["person"] or "", f["waiver"] or "")]
        assert f["message"] in row.text()
        link = row.find("a", **{"class": "loc"})
        assert (link.get("data-file"), int(link.get("data-line"))) == (f["location"]["file"], f["location"]["line"])
        assert (ROOT / link.get("href")).is_file(), "the relative link resolves from where the checker ran"
    for pattern in EXTERNAL:
        assert not pattern.search(document)


# ---------------------------------------------------------------- diff reports



DIFF_META: dict[str, Any] = {"base": "origin/main", "head": "HEAD", "base_commit": "a" * 40,
                             "head_commit": "b" * 40, "merge_base": "c" * 40, "policies_commit": "a" * 40}


def diff_result(**changes: Any) -> RunResult:
    findings = (FINDINGS[4].with_(change="unchanged"), FINDINGS[2].with_(change="resolved"),
                FINDINGS[0].with_(change="introduced"), FINDINGS[3].with_(change="introduced"),
                Finding("owner-location", "deny", "lark-us-new", None, "owner works from SG",
                               loc("inventories/groups/lark/us-new.yaml", 2), waiver="w-2026-099",
                               change="introduced", waiver_change="added"))
    return full_result(**{"command": "diff", "findings": findings, "meta": DIFF_META, **changes})


def test_diff_headline_shows_refs_and_commits() -> None:
    header = parse(render(diff_result())).find("header")
    facts = {dt.text(): dd for div in header.find("dl").find_all("div")
             for dt, dd in [(div.find("dt"), div.find("dd"))]}
    assert facts["Base"].text() == "origin/main " + "a" * 12 and facts["Base"].find("code", data_commit="a" * 40)
    assert facts["Head"].text() == "HEAD " + "b" * 12
    assert facts["Merge base"].text() == "c" * 12 and facts["Policies from"].text() == "a" * 12
    bootstrap = parse(render(diff_result(meta={**DIFF_META, "bootstrap": True}))).find("header")
    assert bootstrap.find("p", **{"class": "bootstrap"}).text().startswith("Bootstrap: the base has no policies")
    assert "Bootstrap" not in header.text()


def test_diff_lists_introduced_first_and_offers_a_change_filter() -> None:
    dom = parse(render(diff_result()))
    rows = finding_rows(dom)
    changes = [r.get("data-change") for r in rows]
    assert changes[:3] == ["introduced"] * 3, "groups with introduced findings come first"
    options = [o.get("value") for o in dom.find("form", id="findings-filter").find("select", name="change")
               .find_all("option")]
    assert options == ["", "introduced", "resolved", "unchanged"]
    assert dom.find_all("select", name="change") and not parse(render(full_result())).find_all("select", name="change")


def test_exceptions_the_change_grants_have_a_section_of_their_own() -> None:
    dom = parse(render(diff_result()))
    section = dom.find("section", id="exceptions")
    (row,) = section.find("tbody").find_all("tr")
    assert row.get("data-waiver") == "w-2026-099" and "added" in row.text() and "lark-us-new" in row.text()
    assert "--accept-new-waivers" in section.text()
    (finding,) = [r for r in finding_rows(dom) if r.get("data-waiver") == "w-2026-099"]
    assert "added by this change, not applied" in finding.text() and finding.get("data-status") == "deny"
    assert parse(render(full_result())).find_all("section", id="exceptions") == []


def test_waivers_table_always_has_rule_expiry_and_reason_columns() -> None:
    for result in (full_result(), diff_result(meta=DIFF_META)):
        table = parse(render(result)).find("section", id="waivers").find("table")
        headers = [th.text() for th in table.find("thead").find_all("th")]
        assert {"Rule", "Expires", "Reason"} <= set(headers)
        for row in table.find("tbody").find_all("tr"):
            cells = dict(zip(headers, (td.text() for td in row.find_all("td")), strict=True))
            assert all(cells[h] for h in ("Rule", "Expires", "Reason")), cells  # a value, or "not recorded"


def test_a_real_diff_report_shows_refs_waivers_and_introduced_first(example_repo: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=example_repo, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "org")
    base = git("rev-parse", "HEAD")
    git("checkout", "-qb", "change")
    group = example_repo / "inventories" / "groups" / "lark" / "sg-us-appeals.yaml"
    group.write_text(group.read_text().replace("kind: case-queue", "kind: chat"), encoding="utf-8")
    group.write_text(group.read_text().replace("data_classes: [", "data_classes: [minor_safety, "), encoding="utf-8")
    git("commit", "-qam", "a change")
    page = example_repo / "diff.html"
    run = run_checker("diff", "--base", "main", "--as-of", "2026-11-29", "--format", "html", "--output", str(page),
                      cwd=example_repo)
    assert run.returncode == 1, run.stderr
    dom = parse(page.read_text(encoding="utf-8"))
    facts = {d.find("dt").text(): d.find("dd").text() for d in dom.find("header").find("dl").find_all("div")}
    assert facts["Base"] == f"main {base[:12]}" and facts["Merge base"] == base[:12]
    assert facts["Head"] == f"HEAD {git('rev-parse', 'HEAD')[:12]}"
    assert finding_rows(dom)[0].get("data-change") == "introduced"
    waivers = dom.find("section", id="waivers")
    assert waivers.find("tbody").find_all("tr") and "not recorded" not in waivers.text()
