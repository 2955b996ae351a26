"""SARIF 2.1.0, shaped for GitHub code scanning: rules from # METADATA, stable fingerprints, waivers as
suppressions, and for `diff` only the findings present at the head, with their baselineState."""

from __future__ import annotations

import json
from typing import Any, TextIO
from urllib.parse import quote

from checker import __version__
from checker.models import Finding, RuleInfo, RunResult
from checker.report.common import fail_on, identity_fingerprint, rule_ids, rule_info

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# Placeholder until the project has a public home; SARIF only needs a valid URI here.
INFORMATION_URI = "https://github.com/checker-policy/checker"
FINGERPRINT_KEY = "checkerFindingIdentity/v1"

LEVELS = {"deny": "error", "warn": "warning"}
BASELINE_STATES = {"introduced": "new", "unchanged": "unchanged"}
# custom.severity -> GitHub's security-severity score (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low < 4.0)
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def render(result: RunResult, stream: TextIO) -> None:
    json.dump(document(result), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def document(result: RunResult) -> dict[str, Any]:
    ids = rule_ids(result)
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "checker",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [reporting_descriptor(rule_info(result, rule_id)) for rule_id in ids],
        }},
        "invocations": [invocation(result)],
        "results": [sarif_result(f, index[f.rule]) for f in result.present],
        "properties": run_properties(result),
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


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
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": level},
        "properties": properties,
    }


def sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.level, "warning"),
        "message": {"text": finding.message},
    }
    if finding.location is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": quote(finding.location.file, safe="/")}}
        if finding.location.line >= 1:
            physical["region"] = {"startLine": finding.location.line}
        item["locations"] = [{"physicalLocation": physical}]
    item["partialFingerprints"] = {FINGERPRINT_KEY: identity_fingerprint(finding)}
    if finding.change in BASELINE_STATES:
        item["baselineState"] = BASELINE_STATES[finding.change]
    if finding.waived:
        item["suppressions"] = [{"kind": "external", "status": "accepted",
                                 "justification": f"waived by waiver {finding.waiver}"}]
    properties: dict[str, Any] = {"group": finding.group}
    for key in ("person", "waiver", "change"):
        if getattr(finding, key) is not None:
            properties[key] = getattr(finding, key)
    item["properties"] = properties
    return item


def invocation(result: RunResult) -> dict[str, Any]:
    """A rendered result is a completed run; its exit code is the RunResult's own."""
    return {"executionSuccessful": True, "exitCode": result.exit_code(fail_on(result))}


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
        if isinstance(value, str | int | float | bool):
            properties.setdefault(key, value)
    return properties
