"""`checker audit --observed` on the example org (SPEC §8), against an independent reading of the
YAML and the snapshot: drift computed here from the raw files, policies by testing/oracle.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing import oracle
from tests.conftest import ROOT, run_checker

AS_OF = "2026-11-29"
DRIFT_LEVELS = {"drift-unreviewed-member": "deny", "drift-unknown-account": "deny", "drift-owner": "deny",
                "drift-person-attribute": "deny", "drift-stale-member": "warn", "drift-unmanaged-group": "warn",
                "drift-missing-group": "warn"}


def expected(inventory: Path, snapshot_path: Path) -> set[tuple[Any, ...]]:
    people, groups, waivers = oracle.load_inventory(inventory)
    snap = json.loads(snapshot_path.read_text())
    platform = snap["platform"]
    by_account = {acc: pid for pid, p in people.items() for name, acc in (p.get("accounts") or {}).items()
                  if name == platform}
    by_email = {p["email"].lower(): pid for pid, p in people.items() if "email" in p}
    snap_people = {p["account"]: p for p in snap["people"]}

    def pid_of(account: str) -> str:
        if account in by_account:
            return by_account[account]
        email = snap_people[account]["email"]
        return by_email.get(email.lower(), f"{platform}:{account}") if email else f"{platform}:{account}"

    def finding(rule: str, group: str | None, person: str | None) -> dict[str, Any]:
        return {**oracle.finding(rule, DRIFT_LEVELS[rule], group, person)}  # type: ignore[arg-type]

    drift: list[dict[str, Any]] = []
    observed_people = dict(people)
    observed_groups = dict(groups)
    covered = {gid: g for gid, g in groups.items() if g["platform"] == platform}
    snap_groups = {g["external_id"]: g for g in snap["groups"]}
    for gid, group in covered.items():
        if group.get("external_id") and group["external_id"] not in snap_groups:
            drift.append(finding("drift-missing-group", gid, None))
    by_external = {g["external_id"]: gid for gid, g in covered.items() if "external_id" in g}
    for ext, sg in snap_groups.items():
        if ext not in by_external:
            drift.append(finding("drift-unmanaged-group", f"{platform}:{ext}", None))
            continue
        gid = by_external[ext]
        declared = oracle.member_ids(groups[gid])
        accounts = [sg["owner"], *sg["members"]]
        observed = list(dict.fromkeys(pid_of(a) for a in accounts))
        owner = pid_of(sg["owner"])
        if owner != groups[gid]["owner"]:
            drift.append(finding("drift-owner", gid, owner))
        for pid in observed:
            if pid not in declared:
                rule = "drift-unknown-account" if pid.startswith(f"{platform}:") else "drift-unreviewed-member"
                drift.append(finding(rule, gid, pid))
        drift += [finding("drift-stale-member", gid, pid) for pid in declared if pid not in observed]
        for pid in observed:
            if pid not in observed_people:
                p = snap_people[pid.split(":", 1)[1]]
                observed_people[pid] = {"id": pid, "location": p["location"], "employment": p["employment"],
                                        "status": p["status"], "trainings": {}}
        observed_groups[gid] = {**groups[gid], "owner": owner, "members": observed}
    for account, p in snap_people.items():
        pid = pid_of(account)
        if pid in people and any(p[k] is not None and p[k] != people[pid].get(k, "active" if k == "status" else None)
                                 for k in ("location", "employment", "status")):
            drift.append(finding("drift-person-attribute", None, pid))
    policy = oracle.load_policy_data(ROOT / "policies" / "data.yaml")
    day = dt.date.fromisoformat(AS_OF)
    raw = [f for g in observed_groups.values() for f in oracle.group_findings(g, observed_people, policy, day)]
    found = oracle.apply_waivers(raw + drift, waivers, day)
    return {(f["rule"], f["level"], f["group"], f["person"], f["waived"]) for f in found}


def audit(*args: str, cwd: Path = ROOT) -> tuple[int, dict[str, Any]]:
    done = run_checker("audit", "--as-of", AS_OF, "--format", "json", "--no-cache", *args, cwd=cwd)
    assert done.returncode in (0, 1, 2), done.stderr
    return done.returncode, {**(json.loads(done.stdout) if done.stdout else {}), "stderr": done.stderr}


@pytest.mark.parametrize("platform", ["lark", "slack"])
def test_example_findings_equal_an_independent_reading(platform: str) -> None:
    path = ROOT / "examples" / "snapshots" / f"{platform}.json"
    code, doc = audit("--observed", f"examples/snapshots/{platform}.json")
    assert code == 1
    got = {(f["rule"], f["level"], f["group"], f["person"], f["waived"]) for f in doc["findings"]}
    assert len(got) == len(doc["findings"])
    assert got == expected(ROOT / "inventories", path)
    assert doc["observed"] == [{"platform": platform, "taken_at": "2026-11-29T06:00:00Z",
                                "file": f"examples/snapshots/{platform}.json"}]


def test_lark_example_shows_every_drift_rule_and_the_grown_chat() -> None:
    _, doc = audit("--observed", "examples/snapshots/lark.json")
    rules = {f["rule"] for f in doc["findings"]}
    assert set(DRIFT_LEVELS) <= rules
    size = [f for f in doc["findings"] if f["rule"] == "sensitive-group-size"
            and f["group"] == "lark-us-ttsafety-escalations"]
    assert [f["message"].split(",")[0] for f in size] == [
        "group lark-us-ttsafety-escalations has 1108 members"]
    unmanaged = [f for f in doc["findings"] if f["rule"] == "drift-unmanaged-group"]
    assert [f["location"] for f in unmanaged] == [{"file": "examples/snapshots/lark.json", "line": None}]
    attribute = [f for f in doc["findings"] if f["rule"] == "drift-person-attribute"]
    assert {(f["group"], f["person"], f["message"]) for f in attribute} == {
        (None, "rachel.stein", "person rachel.stein: location is CN on lark, US in the inventory"),
        (None, "tom.alvarez", "person tom.alvarez: status is departed on lark, active in the inventory")}
    # without the snapshot, the YAML alone says the escalations queue is clean
    _, declared = audit()
    assert not [f for f in declared["findings"] if f["group"] == "lark-us-ttsafety-escalations"]


def test_drift_findings_can_be_waived(example_repo: Path) -> None:
    shutil.copytree(ROOT / "examples", example_repo / "examples")
    waivers = example_repo / "inventories" / "waivers.yaml"
    waivers.write_text(waivers.read_text() + yaml.safe_dump([{
        "id": "w-drift-1", "rule": "drift-owner", "group": "lark-sg-content-review",
        "reason": "Handover approved in SEC-99", "approved_by": "ana.ruiz", "expires": "2027-01-31"}]).replace(
        "- ", "  - ", 1).replace("\n", "\n  ").rstrip() + "\n")
    _, doc = audit("--observed", "examples/snapshots/lark.json", cwd=example_repo)
    owner = [f for f in doc["findings"] if f["rule"] == "drift-owner"]
    assert [(f["waived"], f["waiver"]) for f in owner] == [(True, "w-drift-1")]


def test_old_snapshot_is_an_error_unless_allowed() -> None:
    code, doc = audit("--as-of", "2026-12-07", "--observed", "examples/snapshots/lark.json")
    assert code == 2
    assert "examples/snapshots/lark.json: snapshot taken 2026-11-29T06:00:00Z is 8 days older" in doc["stderr"]
    code, _ = audit("--as-of", "2026-12-07", "--max-snapshot-age", "8", "--observed", "examples/snapshots/lark.json")
    assert code == 1


def test_bad_snapshot_is_exit_2_with_pointer(tmp_path: Path) -> None:
    snap = json.loads((ROOT / "examples" / "snapshots" / "slack.json").read_text())
    snap["groups"][0]["members"].append("U_NOBODY")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(snap))
    code, doc = audit("--observed", str(bad))
    assert code == 2
    assert f"bad.json: /groups/0/members/{len(snap['groups'][0]['members']) - 1}: account 'U_NOBODY' is not in " \
           "people" in doc["stderr"]


SMALL_ORG = """\
people:
  - {id: ann, location: US, employment: employee, accounts: {slack: U1}, trainings: {privacy: 2026-10-01}}
  - {id: bob, location: US, employment: employee, accounts: {slack: U2}, trainings: {privacy: 2026-10-01}}
groups:
  - id: ops
    platform: slack
    external_id: C1
    kind: channel
    owner: ann
    members: [bob]
    data_classes: [internal]
"""


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "github", "markdown", "junit", "html"])
def test_every_format_shows_drift(fmt: str, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "org.yaml").write_text(SMALL_ORG)
    people = [{"account": a, "email": None, "name": None, "location": None, "employment": None, "status": None}
              for a in ("U1", "U2", "U3")]
    (tmp_path / "slack.json").write_text(json.dumps({
        "version": 1, "platform": "slack", "taken_at": "2026-11-29T06:00:00Z", "source": {}, "people": people,
        "groups": [{"external_id": "C1", "name": "ops", "kind": "channel", "owner": "U2", "members": ["U1", "U3"]},
                   {"external_id": "C9", "name": "side", "kind": "channel", "owner": "U1", "members": []}]}))
    done = run_checker("audit", "--as-of", AS_OF, "--format", fmt, "--no-cache", "--observed", "slack.json",
                       cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    for rule in ("drift-owner", "drift-unknown-account", "drift-unmanaged-group"):
        assert rule in done.stdout, (rule, done.stdout)
    assert "U3" in done.stdout and "C9" in done.stdout


def test_html_drift_section_puts_the_largest_gap_first() -> None:
    done = run_checker("audit", "--as-of", AS_OF, "--format", "html", "--no-cache",
                       "--observed", "examples/snapshots/lark.json")
    section = done.stdout[done.stdout.index('<section id="drift">'):]
    section = section[:section.index("</section>")]
    first_row = section[section.index("<tbody>"):].split("</tr>")[0]
    assert "<code>lark-us-ttsafety-escalations</code>" in first_row
    assert '<td data-sort="6" class="num">6</td><td data-sort="1108" class="num">1108</td>' in first_row
    assert "examples/snapshots/lark.json" in section


def test_two_snapshots_of_one_platform_are_an_error() -> None:
    code, doc = audit("--observed", "examples/snapshots/lark.json", "--observed", "examples/snapshots/lark.json")
    assert code == 2
    assert "examples/snapshots/lark.json: another --observed snapshot is of lark too" in doc["stderr"]


def test_both_platforms_at_once() -> None:
    code, doc = audit("--observed", "examples/snapshots/lark.json", "--observed", "examples/snapshots/slack.json")
    assert code == 1
    assert [o["platform"] for o in doc["observed"]] == ["lark", "slack"]
    attribute = {f["person"]: f["message"] for f in doc["findings"] if f["rule"] == "drift-person-attribute"}
    assert attribute["tom.alvarez"] == "person tom.alvarez: status is departed on lark, active in the inventory"
    unmanaged = {f["group"] for f in doc["findings"] if f["rule"] == "drift-unmanaged-group"}
    assert len(unmanaged) == 2 and all(g.startswith(("lark:oc_", "slack:C")) for g in unmanaged)
