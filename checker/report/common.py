"""Pure helpers the report formats share. They read a RunResult and never change or re-judge it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from checker.escapes import escape_controls
from checker.models import CHANGES, FAILING_CHANGES, WAIVER_RULES, Finding, RuleInfo, RunResult

# What reports say about the checker's own rules (SPEC §5); policies' rules come from # METADATA.
CHECKER_RULES: Mapping[str, RuleInfo] = {
    "waiver-expired": RuleInfo(
        rule_id="waiver-expired", package="", file="", levels=("warn",),
        title="Waiver past its expiry date",
        description="A waiver whose expiry date is before the evaluation date. It suppresses nothing: the "
                    "findings it used to cover are reported again.",
        remediation="Renew the waiver with a new expiry date and approval, or remove it and fix the findings "
                    "it covered."),
    "waiver-unused": RuleInfo(
        rule_id="waiver-unused", package="", file="", levels=("warn",),
        title="Waiver that matches no finding",
        description="A waiver in force that suppresses no finding: the problem it covered is gone, or the "
                    "waiver names the wrong rule, group or person.",
        remediation="Remove the waiver, or correct its rule, group or person."),
    "waiver-self-approved": RuleInfo(
        rule_id="waiver-self-approved", package="", file="", levels=("deny",),
        title="Waiver approved by its own beneficiary",
        description="A waiver approved by the owner of its group or by the person it names. Separation of "
                    "duties: it suppresses nothing.",
        remediation="Have someone other than the group's owner and the person named approve the waiver."),
}


def printable(text: str) -> str:
    """One line of plain text: control characters (line breaks too) shown as escapes, so that no file name
    or message can start a line of its own in a log (a forged workflow command) or move the cursor."""
    return escape_controls(text)


_LINE_END = re.compile(r"(\r\n|\r|\n)")


def printable_keeping_lines(text: str) -> str:
    """Like printable, but CR and LF stay: for formats that carry line ends in their own escaped form."""
    return "".join(part if _LINE_END.fullmatch(part) else escape_controls(part) for part in _LINE_END.split(text))


def fail_on(result: RunResult) -> str:
    """The --fail-on level the run was judged at."""
    return result.fail_on


def rule_info(result: RunResult, rule_id: str) -> RuleInfo:
    """A rule's metadata: the policy's # METADATA, the checker's own rules, or a bare entry."""
    if rule_id in result.rules:
        return result.rules[rule_id]
    if rule_id in CHECKER_RULES:
        return CHECKER_RULES[rule_id]
    return RuleInfo(rule_id=rule_id, package="", file="", levels=())


def rule_ids(result: RunResult) -> list[str]:
    """Every rule a report describes: the policies' rules, the checker's own, and any other rule a finding
    names (so every finding has a rule entry), in a stable order."""
    named = {f.rule for f in (*result.findings, *result.impact)}
    extra = sorted(named - set(result.rules) - set(CHECKER_RULES))
    return sorted(result.rules) + list(WAIVER_RULES) + extra


_LEVEL_RANK = {"deny": 0, "warn": 1}


def is_new(finding: Finding) -> bool:
    """Introduced or worsened by the change under review, and not waived."""
    return finding.change in FAILING_CHANGES and not finding.waived


def importance(finding: Finding) -> tuple[int, int, int]:
    """Sort key, most important first (SPEC §9): what the change introduces or worsens, then deny,
    then warn, then waived findings."""
    return (0 if is_new(finding) else 1, 1 if finding.waived else 0, _LEVEL_RANK.get(finding.level, 2))


def by_importance(findings: Iterable[Finding]) -> list[Finding]:
    """Stable: findings of equal importance keep their (sorted) order."""
    return sorted(findings, key=importance)


def waiver_change(finding: Finding) -> str | None:
    """`added` or `extended` when the change grants itself the waiver that names this finding (SPEC §5)."""
    return finding.waiver_change


_REMOTE = re.compile(r"^(?:(?:https?|ssh|git)://(?:[^@/]*@)?(?P<host>[^/:]+)(?::\d+)?/|(?:[^@/]+@)?(?P<scp>[^/:]+):)"
                     r"(?P<path>[\w.~-]+(?:/[\w.~-]+)+)/?$")


def web_link_base(remote_url: str, commit: str) -> str | None:
    """`https://HOST/OWNER/REPO/blob/COMMIT/` for a git remote's URL (https, ssh or scp-like; credentials
    dropped), so a report's links open the files at the commit judged; None for what is not a web host's."""
    match = _REMOTE.match(remote_url.strip())
    if match is None or not re.fullmatch(r"[0-9a-f]{7,64}", commit):
        return None
    host = match.group("host") or match.group("scp")
    blob = "-/blob" if host == "gitlab.com" else "blob"
    path = match.group("path").removesuffix(".git")
    return f"https://{host}/{path}/{blob}/{commit}/"


def location_text(finding: Finding) -> str:
    return f"{finding.location.file}:{finding.location.line}" if finding.location else ""


def identity_fingerprint(finding: Finding) -> str:
    """A stable hash of the finding's identity (rule, group, person, waiver); ids never contain `|`."""
    return hashlib.sha256("|".join(finding.identity).encode("utf-8")).hexdigest()


# every diff change a report knows, in the order reports show them
ALL_CHANGES = tuple(dict.fromkeys(("introduced", "worsened", *CHANGES)))


def by_change(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """diff findings per change, every change present, introduced and worsened first."""
    grouped: dict[str, list[Finding]] = {change: [] for change in ALL_CHANGES}
    for finding in findings:
        if finding.change in grouped:
            grouped[finding.change].append(finding)
    return grouped


def by_key(findings: Iterable[Finding], key: str) -> dict[str, list[Finding]]:
    """Findings grouped by an attribute (`group`, `rule`), groups in first-seen order."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(getattr(finding, key), []).append(finding)
    return grouped


def level_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """deny / warn (not waived) and waived, counted the way RunResult.counts() counts them."""
    counts = {"deny": 0, "warn": 0, "waived": 0}
    for finding in findings:
        key = "waived" if finding.waived else finding.level
        counts[key] = counts.get(key, 0) + 1
    return counts


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural_noun or noun + 's')}"


def unlisted_unchanged(result: RunResult) -> dict[str, int]:
    """diff: deny / warn / waived counts of the unchanged findings that the gate did not evaluate (of groups
    and people the change cannot affect), counted from the cache (checker.sidecache) and not listed."""
    found = result.meta.get("unchanged_unlisted")
    found = found if isinstance(found, dict) else {}
    return {level: n if isinstance(n := found.get(level), int) else 0 for level in ("deny", "warn", "waived")}


def diff_counts(result: RunResult) -> dict[str, int]:
    """RunResult.counts() with the unlisted unchanged findings counted as well: unchanged, and present
    at the head at their level."""
    counts = result.counts()
    for level, n in unlisted_unchanged(result).items():
        counts[level] += n
        counts["unchanged"] += n
    return counts


def not_evaluated(result: RunResult) -> str:
    """diff: which groups and people the gate left out because their input and waivers are the
    same on both sides, when the cache held no side's counts (checker.sidecache) to count their
    findings with (unchanged by construction, and not counted above); empty otherwise."""
    skipped = result.meta.get("not_evaluated")
    if not isinstance(skipped, dict):
        return ""
    parts = [plural(n, noun, many) for key, noun, many in (("groups", "group", None), ("people", "person", "people"))
             if isinstance(n := skipped.get(key), int) and n > 0]
    if not parts:
        return ""
    return (f"{' and '.join(parts)} that the change cannot affect (unchanged by construction, not counted; "
            "--format json or sarif lists their findings)")

