"""SARIF 2.1.0, shaped for GitHub code scanning (SPEC §9): rules from # METADATA, stable fingerprints,
waivers as suppressions, and for `diff` only the findings present at the head, with their baselineState.
Results come most important first (introduced or worsened, then deny, then warn, then waived) and stop
at the --sarif-max-results cap, with a run-level notification saying how many were left out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TextIO
from urllib.parse import quote

from checker import __version__
from checker.errors import Problem
from checker.models import Finding, RuleInfo, RunResult
from checker.report.common import by_importance, fail_on, identity_fingerprint, rule_ids, rule_info, waiver_change

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "checkerFindingIdentity/v1"
# GitHub code scanning shows 5,000 results per run and refuses uploads above 25,000.
DEFAULT_MAX_RESULTS = 5_000
UPLOAD_LIMIT = 25_000
MAX_RESULTS_META = "sarif_max_results"  # RunResult.meta key set from --sarif-max-results

LEVELS = {"deny": "error", "warn": "warning"}
BASELINE_STATES = {"introduced": "new", "worsened": "updated", "unchanged": "unchanged"}
# custom.severity -> GitHub's security-severity score (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low < 4.0)
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def render(result: RunResult, stream: TextIO) -> None:
    write(document(result), stream)


def write(doc: dict[str, Any], stream: TextIO) -> None:
    """Indented, with one result per line: readable, diffable, and written by json's C encoder (its
    indenting encoder is pure Python: 25,000 results took 5 s)."""
    run = doc["runs"][0]
    results = run["results"]
    head = json.dumps({**doc, "runs": [{**run, "results": []}]}, indent=2, ensure_ascii=False)
    if results:
        # The run's own key, at the run's indentation: strings cannot hold an unescaped quote.
        body = ",\n".join("        " + json.dumps(item, ensure_ascii=False) for item in results)
        head = head.replace('\n      "results": []', f'\n      "results": [\n{body}\n      ]', 1)
    stream.write(head + "\n")


def max_results(result: RunResult) -> int:
    value = result.meta.get(MAX_RESULTS_META, DEFAULT_MAX_RESULTS)
    return max(0, min(int(value), UPLOAD_LIMIT))


def document(result: RunResult) -> dict[str, Any]:
    ids = rule_ids(result)
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    present = by_importance(result.present)
    cap = max_results(result)
    shown, left_out = present[:cap], len(present) - min(cap, len(present))
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "checker",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": [reporting_descriptor(rule_info(result, rule_id)) for rule_id in ids],
        }},
        "invocations": [invocation(result, left_out, cap)],
        "results": [sarif_result(f, index[f.rule]) for f in shown],
        "properties": run_properties(result),
    }
    if left_out:
        run["properties"]["resultsLeftOut"] = left_out
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def rule_name(rule_id: str) -> str:
    """SARIF's `name`: an identifier-like form of the id (`owner-location` -> `OwnerLocation`)."""
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-") if part)


def default_level(rule: RuleInfo) -> str:
    return "error" if "deny" in rule.levels else "warning"


def reporting_descriptor(rule: RuleInfo) -> dict[str, Any]:
    title = rule.title or rule.rule_id
    description = rule.description or title
    help_text = rule.remediation or description
    help_markdown = description + (f"\n\n**Remediation:** {rule.remediation}" if rule.remediation else "")
    level = default_level(rule)
    properties: dict[str, Any] = {
        "tags": ["security", "access-policy"] if rule.package else ["checker"],
        "precision": "very-high",  # policies decide from declared facts; no heuristics involved
        "problem.severity": level,
    }
    if rule.severity.lower() in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity.lower()]
    if rule.severity:
        properties["severity"] = rule.severity
    if rule.package:
        properties["package"] = rule.package
    if rule.file:
        properties["policyFile"] = rule.file
    return {
        "id": rule.rule_id,
        "name": rule_name(rule.rule_id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": level},
        "properties": properties,
    }


def physical_location(file: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(file, safe="/")}}
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.level, "warning"),
        "message": {"text": finding.message},
    }
    if finding.location is not None:
        item["locations"] = [physical_location(finding.location.file, finding.location.line)]
    item["partialFingerprints"] = {FINGERPRINT_KEY: identity_fingerprint(finding)}
    if finding.change in BASELINE_STATES:
        item["baselineState"] = BASELINE_STATES[finding.change]
    if finding.waived:
        item["suppressions"] = [{"kind": "external", "status": "accepted",
                                 "justification": f"waived by waiver {finding.waiver}"}]
    properties: dict[str, Any] = {"group": finding.group} if finding.group is not None else {}
    for key in ("person", "waiver", "change"):
        if getattr(finding, key) is not None:
            properties[key] = getattr(finding, key)
    granted = waiver_change(finding)
    if granted:  # a waiver the change grants itself: not a suppression (SPEC §5)
        properties["waiver_change"] = granted
    item["properties"] = properties
    return item


def invocation(result: RunResult, left_out: int = 0, cap: int = DEFAULT_MAX_RESULTS) -> dict[str, Any]:
    """A rendered result is a completed run; its exit code is the RunResult's own."""
    done: dict[str, Any] = {"executionSuccessful": True, "exitCode": result.exit_code(fail_on(result))}
    if left_out:
        done["toolExecutionNotifications"] = [{
            "descriptor": {"id": "sarif-max-results"},
            "level": "warning",
            "message": {"text": f"{left_out} more results were left out: this file holds the first {cap} "
                                "(--sarif-max-results), most important first; the json format lists every "
                                "finding."},
        }]
    return done


def run_properties(result: RunResult) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "command": result.command,
        "as_of": result.as_of,
        "engine": {"name": result.engine.name, "version": result.engine.version},
        "summary": result.counts(),
    }
    if result.command == "diff":
        properties["policies_changed"] = result.policies_changed
        properties["policy_impact"] = {
            "added": sum(1 for f in result.impact if f.change == "introduced"),
            "dropped": sum(1 for f in result.impact if f.change == "resolved"),
        }
    # refs, commits and the like; meta's bulky tables (per-group summaries for html) stay out of SARIF
    for key, value in result.meta.items():
        if key != MAX_RESULTS_META and isinstance(value, str | int | float | bool):
            properties.setdefault(key, value)
    return properties


# ---------------------------------------------------------------- a run that could not be completed

INPUT_PROBLEM = RuleInfo(
    rule_id="input-problem", package="", file="", levels=("deny",),
    title="Input checker could not read",
    description="A file of the inventory or the policies that is not valid, so the run could not be completed "
                "(exit 2) and nothing was evaluated.",
    remediation="Fix the file at the line shown; `checker validate` checks every file without evaluating.")


def render_problems(command: str, problems: Sequence[Problem], stream: TextIO) -> None:
    """A run that could not be completed: a toolExecutionNotification per problem, and a result per problem
    that names a file, so code scanning shows it on the line (SPEC §6)."""
    located = [p for p in problems if p.file]
    notifications = []
    for problem in problems:
        note: dict[str, Any] = {"level": "error", "message": {"text": str(problem)},
                                "descriptor": {"id": INPUT_PROBLEM.rule_id}}
        if problem.file:
            note["locations"] = [physical_location(problem.file, problem.line)]
        notifications.append(note)
    results = [{"ruleId": INPUT_PROBLEM.rule_id, "ruleIndex": 0, "level": "error",
                "message": {"text": problem.message},
                "locations": [physical_location(problem.file, problem.line)],
                "partialFingerprints": {FINGERPRINT_KEY: problem_fingerprint(problem)}}
               for problem in located[:UPLOAD_LIMIT]]
    run = {
        "tool": {"driver": {"name": "checker", "version": __version__, "semanticVersion": __version__,
                            "rules": [reporting_descriptor(INPUT_PROBLEM)]}},
        "invocations": [{"executionSuccessful": False, "exitCode": 2,
                         "toolExecutionNotifications": notifications}],
        "results": results,
        "properties": {"command": command, "error": True},
    }
    write({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, stream)


def problem_fingerprint(problem: Problem) -> str:
    """Stable across runs while the same file has the same problem (lines move; ids do not exist here)."""
    return hashlib.sha256(f"input-problem|{problem.file}|{problem.message}".encode()).hexdigest()
