"""Writes lark.json and slack.json: the example org as the platforms hold it, drifted from the YAML.

    python3 examples/snapshots/generate.py

What reality did behind the inventory's back (each line is a drift the audit reports):
  Lark
    lark-us-ttsafety-escalations  grew to 1,100+ members: li.wei, zhang.hao and maria.santos
                                  joined (unreviewed), 1,100 accounts nobody declared (guests among
                                  them), and grace.liu left (stale)
    lark-sg-content-review        ownership handed to priya.nair
    rachel.stein                  moved to CN (owns lark-global-child-safety-war-room)
    tom.alvarez                   departed, still in lark-ttsafety-general
    "ID verification overflow"    a chat with no inventory counterpart, holding members
    lark-cn-growth-campaigns      archived on Lark, still in the inventory
  Slack
    slack-us-trust-safety-ops     a guest (restricted account) was invited
    slack-ie-trust-safety         created by ciara.ryan, not the inventory's owner
    slack-creator-payouts         vikram.iyer left the channel
    slack-growth-experiments      deleted on Slack, still in the inventory
    "#ids-escalation-scratch"     a channel with no inventory counterpart
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

from ids import lark_account, lark_chat, slack_account, slack_channel  # noqa: E402

from checker.snapshot import Snapshot, SnapshotGroup, SnapshotPerson, write  # noqa: E402

TAKEN_AT = "2026-11-29T06:00:00Z"
UNKNOWN_IN_ESCALATIONS = 1_100
GUESTS_IN_ESCALATIONS = 40


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    people: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    for path in sorted((ROOT / "inventories").rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        people.update({p["id"]: p for p in doc.get("people") or []})
        groups.update({g["id"]: g for g in doc.get("groups") or []})
    return people, groups


def members(group: dict[str, Any]) -> list[str]:
    listed = list(group["members"])
    return listed if group["owner"] in listed else [group["owner"], *listed]


def person(pid: str, record: dict[str, Any], account: str, **changes: Any) -> SnapshotPerson:
    values = {"location": record["location"], "employment": record["employment"],
              "status": record.get("status", "active"), **changes}
    return SnapshotPerson(account, record.get("email"), record.get("name"), values["location"],
                          values["employment"], values["status"])


def lark(people: dict[str, Any], groups: dict[str, Any]) -> Snapshot:
    changed = {"rachel.stein": {"location": "CN"}, "tom.alvarez": {"status": "departed"}}
    snap_people = [person(pid, p, lark_account(pid), **changed.get(pid, {})) for pid, p in sorted(people.items())]
    unknown = []
    for i in range(UNKNOWN_IN_ESCALATIONS):
        account = lark_account(f"unknown-{i}")
        if i < GUESTS_IN_ESCALATIONS:  # external guests: Lark gives no country or employment for them
            unknown.append(SnapshotPerson(account, f"guest{i}@partner-bpo.example", f"Guest {i}", None, None,
                                          "active"))
        else:
            unknown.append(SnapshotPerson(account, f"moderator{i}@example.com", f"Moderator {i}", "US",
                                          "contractor", "active"))
    snap_groups = []
    for gid, group in sorted(groups.items()):
        if group["platform"] != "lark" or gid == "lark-cn-growth-campaigns":
            continue
        accounts = [lark_account(m) for m in members(group)]
        owner = lark_account(group["owner"])
        if gid == "lark-us-ttsafety-escalations":
            accounts.remove(lark_account("grace.liu"))
            accounts += [lark_account(m) for m in ("li.wei", "zhang.hao", "maria.santos")]
            accounts += [p.account for p in unknown]
        if gid == "lark-sg-content-review":
            owner = lark_account("priya.nair")
        snap_groups.append(SnapshotGroup(group["external_id"], group.get("description", gid), "chat", owner,
                                         tuple(accounts)))
    overflow = [lark_account(m) for m in ("jordan.blake", "li.wei")] + [p.account for p in unknown[:25]]
    snap_groups.append(SnapshotGroup(lark_chat("id-verification-overflow"), "ID verification overflow", "chat",
                                     lark_account("jordan.blake"), tuple(overflow)))
    return Snapshot(1, "lark", TAKEN_AT, {"tenant": "example.larksuite.com", "checker": "example"},
                    tuple(snap_people + unknown), tuple(snap_groups),
                    ("3 bots skipped",))


def slack(people: dict[str, Any], groups: dict[str, Any]) -> Snapshot:
    snap_people = [person(pid, p, slack_account(pid)) for pid, p in sorted(people.items())]
    guest = SnapshotPerson(slack_account("guest-auditor"), "auditor@outside-firm.example", "Outside Auditor",
                           None, None, "active")
    snap_groups = []
    for gid, group in sorted(groups.items()):
        if group["platform"] != "slack" or gid == "slack-growth-experiments":
            continue
        accounts = [slack_account(m) for m in members(group)]
        owner = slack_account(group["owner"])
        if gid == "slack-us-trust-safety-ops":
            accounts.append(guest.account)
        if gid == "slack-ie-trust-safety":
            owner = slack_account("ciara.ryan")
        if gid == "slack-creator-payouts":
            accounts.remove(slack_account("vikram.iyer"))
        snap_groups.append(SnapshotGroup(group["external_id"], gid.removeprefix("slack-"), "channel", owner,
                                         tuple(accounts)))
    scratch = [slack_account(m) for m in ("jordan.blake", "sam.patel")] + [guest.account]
    snap_groups.append(SnapshotGroup(slack_channel("ids-escalation-scratch"), "ids-escalation-scratch", "channel",
                                     slack_account("jordan.blake"), tuple(scratch)))
    return Snapshot(1, "slack", TAKEN_AT, {"tenant": "example.slack.com", "checker": "example"},
                    (*snap_people, guest), tuple(snap_groups), ("2 bots skipped",))


def main() -> None:
    people, groups = load()
    write(lark(people, groups), HERE / "lark.json")
    write(slack(people, groups), HERE / "slack.json")


if __name__ == "__main__":
    main()
