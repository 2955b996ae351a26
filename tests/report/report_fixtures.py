"""Hand-built RunResults for the report tests: an audit and a diff with every kind of finding, plus the
awkward text (pipes, newlines, %, commas, colons, markup) that each format must escape."""

from __future__ import annotations

import os
from pathlib import Path

from checker.models import Engine, Finding, Location, RuleInfo, RunResult

GOLDEN = Path(__file__).parent / "golden"
ENGINE = Engine("embedded", "1.5.2")
GROUPS = "inventories/groups"

RULES = {
    "owner-location": RuleInfo(
        "owner-location", "access.owner_location", "policies/owner_location/owner_location.rego", ("deny",),
        title="Owner outside the approved locations",
        description="A group that holds sensitive data must be owned by someone who works from an approved "
                    "location.",
        remediation="Hand the group over to an owner who works from an approved location.", severity="high"),
    "member-location": RuleInfo(
        "member-location", "access.member_location", "policies/member_location/member_location.rego", ("deny",),
        title="Member outside the approved locations",
        description="Members of a group that holds sensitive data work from approved locations.",
        remediation="Remove the member, or move the data to a group run from the users' jurisdiction.",
        severity="high"),
    "sensitive-group-size": RuleInfo(
        "sensitive-group-size", "access.sensitive_group_size",
        "policies/sensitive_group_size/sensitive_group_size.rego", ("deny",),
        title="Too many members for the data held", description="Sensitive data stays in small groups.",
        remediation="Split the group | or drop members.", severity="medium"),
    "training-expired": RuleInfo(
        "training-expired", "access.training_expired", "policies/training_expired/training_expired.rego",
        ("warn",), title="Privacy training missing or expired",
        description="Members of groups holding sensitive data renew their privacy training every year.",
        remediation="Ask the member to complete the privacy training.", severity="low"),
}


def loc(file: str, line: int) -> Location:
    return Location(file, line)


def owner_cn(**changes: object) -> Finding:
    finding = Finding("owner-location", "deny", "lark-cn-ops-review", None,
                      "group lark-cn-ops-review holds sensitive data (government_id) for users in US but its "
                      "owner li.wei works from CN",
                      loc(f"{GROUPS}/lark/cn-ops-review.yaml", 4))
    return finding.with_(**changes)


def member_sg(**changes: object) -> Finding:
    finding = Finding("member-location", "deny", "lark-us-ttsafety-escalations", "tan.wei",
                      "member tan.wei of group lark-us-ttsafety-escalations works from SG, outside US",
                      loc(f"{GROUPS}/lark/us-ttsafety.yaml", 12))
    return finding.with_(**changes)


def training(**changes: object) -> Finding:
    finding = Finding("training-expired", "warn", "lark-us-ttsafety-escalations", "mei.chen",
                      "mei.chen's privacy training is from 2025-01-02, more than 365 days before 2026-11-29",
                      loc("inventories/people/us.yaml", 7))
    return finding.with_(**changes)


def awkward(**changes: object) -> Finding:
    """A message and a path with every character some format must escape."""
    finding = Finding("sensitive-group-size", "deny", "slack-all-hands", None,
                      "100% of 1,100 members: too many | see <b>note</b>\r\nline two: `x` *y* _z_ & more",
                      loc("inventories/groups/odd, name: v2.yaml", 3))
    return finding.with_(**changes)


def waived(**changes: object) -> Finding:
    finding = Finding("owner-location", "deny", "lark-cn-legal", None,
                      "group lark-cn-legal holds sensitive data for users in US but its owner works from CN",
                      loc(f"{GROUPS}/lark/cn-legal.yaml", 2), waived=True, waiver="w-2026-014")
    return finding.with_(**changes)


def waiver_expired(**changes: object) -> Finding:
    finding = Finding("waiver-expired", "warn", "lark-cn-ops-review", None,
                      "waiver w-2025-003 for owner-location on lark-cn-ops-review expired on 2026-01-31; it "
                      "suppresses nothing — renew or remove it",
                      loc("inventories/waivers.yaml", 3), waiver="w-2025-003")
    return finding.with_(**changes)


def waiver_unused(**changes: object) -> Finding:
    finding = Finding("waiver-unused", "warn", "slack-us-payments", None,
                      "waiver w-2026-020 matches no member-location finding for slack-us-payments; remove it",
                      loc("inventories/waivers.yaml", 11), waiver="w-2026-020")
    return finding.with_(**changes)


def unlocated(**changes: object) -> Finding:
    finding = Finding("departed-owner", "deny", "gg-finance", None, "owner of gg-finance has departed")
    return finding.with_(**changes)


def audit_result() -> RunResult:
    findings = [awkward(), unlocated(), owner_cn(), waived(), waiver_expired(), member_sg(), training(),
                waiver_unused()]
    return RunResult("audit", "2026-11-29", ENGINE, 12, 30, tuple(sorted(findings, key=lambda f: f.sort_key)),
                     RULES)


def diff_result(*, policies_changed: bool = True) -> RunResult:
    findings = [
        member_sg(change="introduced"),
        training(change="introduced"),
        waiver_unused(change="introduced"),
        awkward(change="resolved"),
        owner_cn(change="unchanged"),
        waived(change="unchanged"),
    ]
    impact = (
        Finding("member-location", "deny", "slack-us-payments", "ana.ruiz",
                "member ana.ruiz of group slack-us-payments works from IE, outside US",
                loc(f"{GROUPS}/slack/us-payments.yaml", 9), change="introduced"),
        training(change="resolved"),
    ) if policies_changed else ()
    return RunResult("diff", "2026-11-29", ENGINE, 12, 30, tuple(sorted(findings, key=lambda f: f.sort_key)),
                     RULES, impact=impact, policies_changed=policies_changed,
                     meta={"base": "origin/main", "head": "HEAD"})


def clean_diff_result() -> RunResult:
    """Nothing introduced: only a resolved finding and an unchanged waived one."""
    findings = (awkward(change="resolved"), waived(change="unchanged"))
    return RunResult("diff", "2026-11-29", ENGINE, 12, 30, findings, RULES)


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/report/golden/<name>; UPDATE_GOLDEN=1 rewrites it (review the diff!)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return
    assert path.exists(), f"golden file {path} missing; run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{name} differs from its golden file; if intended, rerun with UPDATE_GOLDEN=1"
