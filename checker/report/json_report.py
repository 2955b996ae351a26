"""SPEC §7 JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from checker.errors import Problem
from checker.models import Finding, RunResult


def finding_dict(finding: Finding) -> dict[str, Any]:
    location = None
    if finding.location is not None:
        location = {"file": finding.location.file, "line": finding.location.line or None}  # 0: no line (§7)
    return {"rule": finding.rule, "level": finding.level, "group": finding.group or None, "person": finding.person,
            "message": finding.message, "waived": finding.waived, "waiver": finding.waiver,
            "change": finding.change, "location": location,
            # SPEC §3, §5: present only when there is one, so audit documents stay as they were
            **({"measure": finding.measure} if finding.measure is not None else {}),
            **({"waiver_change": finding.waiver_change} if finding.waiver_change is not None else {})}


def document(result: RunResult, lists: bool = True) -> dict[str, Any]:
    """The report as one value; `lists=False`: without its lists of findings (render writes those)."""
    doc: dict[str, Any] = {
        "version": 1,
        "command": result.command,
        "as_of": result.as_of,
        "engine": {"name": result.engine.name, "version": result.engine.version},
        "summary": result.counts(),
    }
    if lists:
        doc["findings"] = [finding_dict(f) for f in result.findings]
    if result.command == "diff":
        doc["policies_changed"] = result.policies_changed
        if lists:
            doc["policy_impact"] = [finding_dict(f) for f in result.impact]
    if "observed" in result.meta:  # SPEC §7: the snapshots an --observed run judged
        doc["observed"] = result.meta["observed"]
    # what diff and --history add to SPEC §7
    for key in ("base", "head", "merge_base", "base_commit", "head_commit", "policies_commit", "bootstrap",
                "accept_new_waivers", "inventory_commit", "history", "history_changes"):
        if key in result.meta:
            doc[key] = result.meta[key]
    return doc


# One encoder for every finding: json.dumps with any option builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
WRITE_CHUNK = 1000  # findings encoded and written at a time: a 300,000-finding report is never one string


def render(result: RunResult, stream: TextIO) -> None:
    """Indented, with one finding per line: readable, diffable, and written by the C encoder
    (json's indenting encoder is pure Python and took a second on 40,000 findings)."""
    head = json.dumps(document(result, lists=False), indent=2, ensure_ascii=False)
    stream.write(head[:-2] if head.endswith("\n}") else head[:-1])
    lists = {"findings": result.findings, **({"policy_impact": result.impact} if result.command == "diff" else {})}
    for key, items in lists.items():
        if not items:
            stream.write(f',\n  "{key}": []')
            continue
        stream.write(f',\n  "{key}": [\n')
        for start in range(0, len(items), WRITE_CHUNK):
            lines = ",\n".join("    " + _ENCODE(finding_dict(f)) for f in items[start:start + WRITE_CHUNK])
            stream.write(f",\n{lines}" if start else lines)
        stream.write("\n  ]")
    stream.write("\n}\n")


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {"file": problem.file or None, "line": problem.line or None, "message": problem.message}


def render_problems(command: str, problems: Sequence[Problem], stream: TextIO) -> None:
    """SPEC §7: the report of a run that could not be completed."""
    doc = {"version": 1, "command": command, "error": True, "problems": [problem_dict(p) for p in problems]}
    json.dump(doc, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
