"""JUnit XML: one test case per group that has findings at the head, failing when any of its findings
fails the run (RunResult.failing), and one passing case for all other groups."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TextIO

from checker.errors import Problem
from checker.models import Finding, RunResult
from checker.report.common import by_key, fail_on, location_text, plural, waiver_change

OTHER_GROUPS = "all other groups"
PEOPLE = "people (findings that name no group)"
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text XML can carry: line ends as parsers would read them back, impossible characters replaced."""
    return _NOT_XML.sub("\ufffd", value.replace("\r\n", "\n").replace("\r", "\n"))


def finding_line(finding: Finding) -> str:
    level = f"{finding.level} (waived by {finding.waiver})" if finding.waived else finding.level
    parts = [level, finding.rule]
    if finding.person:
        parts.append(f"person {finding.person}")
    if finding.change:
        parts.append(finding.change)
    if waiver_change(finding):
        parts.append(f"exception this change grants: waiver {finding.waiver} {waiver_change(finding)}, not applied")
    where = location_text(finding)
    return f"[{', '.join(parts)}] {finding.message}" + (f" ({where})" if where else "")


def testcase(classname: str, group: str, findings: list[Finding], failing: set[Finding]) -> ET.Element:
    case = ET.Element("testcase", {"classname": classname, "name": xml_text(group), "time": "0"})
    details = xml_text("\n".join(finding_line(f) for f in findings) + "\n")
    failed = [f for f in findings if f in failing]
    if failed:
        rules = ", ".join(dict.fromkeys(f.rule for f in failed))
        failure = ET.SubElement(case, "failure", {
            "message": xml_text(f"{plural(len(failed), 'failing finding')}: {rules}"),
            "type": "deny" if any(f.level == "deny" for f in failed) else "warn"})
        failure.text = details
    else:
        ET.SubElement(case, "system-out").text = details
    return case


def document(result: RunResult) -> ET.Element:
    classname = f"checker.{result.command}"
    failing = set(result.failing(fail_on(result)))
    groups = by_key(result.present, "group")  # None: person findings that name no group (SPEC §3)
    cases = [testcase(classname, group if group is not None else PEOPLE, findings, failing)
             for group, findings in sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))]
    others = max(result.groups - sum(1 for group in groups if group is not None), 0)
    other = ET.Element("testcase", {"classname": classname, "name": OTHER_GROUPS, "time": "0"})
    ET.SubElement(other, "system-out").text = f"{plural(others, 'other group')} without findings\n"
    cases.append(other)
    failures = sum(1 for case in cases if case.find("failure") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0", "time": "0"}
    root = ET.Element("testsuites", {"name": "checker", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "checker", **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("command", result.command), ("as_of", result.as_of), ("fail_on", fail_on(result)),
                        ("engine", f"{result.engine.name} {result.engine.version}")):
        ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})
    if result.meta.get("bootstrap"):
        ET.SubElement(properties, "property", {"name": "bootstrap", "value": "true"})
    suite.extend(cases)
    return root


def render(result: RunResult, stream: TextIO) -> None:
    write(document(result), stream)


def problems_document(command: str, problems: Sequence[Problem]) -> ET.Element:
    """A run that could not be completed: one failing test case per problem (SPEC §6)."""
    classname = f"checker.{command}"
    cases = []
    for problem in problems:
        where = f"{problem.file}:{problem.line}" if problem.file and problem.line else problem.file
        case = ET.Element("testcase", {"classname": classname, "name": xml_text(where or f"checker {command}"),
                                       "time": "0"})
        failure = ET.SubElement(case, "failure", {"message": xml_text(problem.message), "type": "error"})
        failure.text = xml_text(str(problem) + "\n")
        cases.append(case)
    counts = {"tests": str(len(cases)), "failures": str(len(cases)), "errors": "0", "skipped": "0", "time": "0"}
    root = ET.Element("testsuites", {"name": "checker", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "checker", **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("command", command), ("error", "true"), ("exit_code", "2")):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    suite.extend(cases)
    return root


def render_problems(command: str, problems: Sequence[Problem], stream: TextIO) -> None:
    write(problems_document(command, problems), stream)


def write(root: ET.Element, stream: TextIO) -> None:
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
