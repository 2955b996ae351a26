"""Issue 12.1: the github, markdown and table diffs, which judge only what a change can affect, count
the unchanged findings of what it cannot from a side's entry in the cache (checker.sidecache), written
by `checker audit` or by a complete `checker diff`; without one they say "not evaluated". Real git
repositories, the shipped policies (person scope and waivers included) and the embedded engine."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from checker import sidecache
from checker.cli import main
from testing.gitorg import GitOrg, changed_group
from testing.orggen import build_org
from tests.conftest import ROOT

AS_OF = "2026-11-29"
WAIVERS = "inventories/waivers.yaml"
# A waiver approved by its group's owner: a waiver-self-approved finding on a group the change leaves alone
SELF_APPROVED = ("  - id: w-self\n    rule: owner-location\n    group: {group}\n    reason: r\n"
                 "    approved_by: {owner}\n    expires: 2199-01-01\n")


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitOrg:
    """A generated organisation (30 groups, waivers in force, expired and unused, plus one self-approved)
    on main; on pr, one member added to one group. The cache is a folder of the test's own."""
    monkeypatch.setenv("CHECKER_CACHE_DIR", str(tmp_path / "cache"))
    org = GitOrg(tmp_path / "repo")
    shutil.copytree(ROOT / "policies", org.root / "policies")
    build_org(org.root / "inventories", 30, seed=7)
    waived = set(re.findall(r"group: (\S+)", (org.root / WAIVERS).read_text()))
    groups = sorted(p for p in (org.root / "inventories/groups").rglob("*.yaml") if p.stem not in waived)
    owner = re.search(r"owner: (\S+)", groups[1].read_text())
    assert owner is not None
    with (org.root / WAIVERS).open("a") as out:
        out.write(SELF_APPROVED.format(group=groups[1].stem, owner=owner.group(1)))
    org.commit("a generated organisation")
    org.branch("pr")
    people = re.findall(r"^  - id: (\S+)$", (org.root / "inventories/people/people-0001.yaml").read_text(),
                        re.MULTILINE)
    text = groups[0].read_text()
    newcomer = next(p for p in people if f" {p}\n" not in text)
    groups[0].write_text(text.replace("    members:\n", f"    members:\n      - {newcomer}\n", 1))
    org.commit("one member more")
    return org


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def diff(org: GitOrg, fmt: str, *extra: str, as_of: str = AS_OF) -> str:
    code, out = invoke("diff", "--base", "main", "--repo", str(org.root), "--as-of", as_of, "--format", fmt,
                       "--fail-on", "never", *extra)
    assert code == 0, out
    return out


def audit(org: GitOrg, ref: str, as_of: str = AS_OF) -> None:
    """`checker audit` of a checkout of `ref` (the work tree is left on pr)."""
    org.checkout(ref)
    try:
        code, out = invoke("audit", "--inventories", str(org.root / "inventories"), "--policies",
                           str(org.root / "policies"), "--as-of", as_of, "--format", "json", "--fail-on", "never")
        assert code == 0, out
    finally:
        org.checkout("pr")


def reference(org: GitOrg) -> dict[str, int]:
    """The complete diff's summary (json evaluates everything), without touching the cache."""
    return dict(json.loads(diff(org, "json", "--no-cache"))["summary"])


def shown(org: GitOrg) -> dict[str, str]:
    """What the three formats say about unchanged findings and the head's counts."""
    github = diff(org, "github").splitlines()[-1]
    table = diff(org, "table")
    markdown = diff(org, "markdown")
    return {"github": github, "table": table, "markdown": markdown}


def counts_in(texts: dict[str, str]) -> dict[str, Any]:
    github = re.search(r"(\d+) unchanged", texts["github"])
    table = re.search(r"Unchanged: (\d+) findings?", texts["table"])
    head = re.search(r"at the head (\d+) deny, (\d+) warn, (\d+) waived", texts["table"])
    row = re.search(r"\| unchanged \| (\d+) \| (\d+) \| (\d+) \|", texts["markdown"])
    details = re.search(r"<summary>Unchanged \((\d+)\)</summary>", texts["markdown"])
    assert github and table and head and row and details, texts
    return {"github": int(github[1]), "table": int(table[1]), "markdown": int(details[1]),
            "markdown row": tuple(map(int, row.groups())), "table head": tuple(map(int, head.groups()))}


def hit(texts: dict[str, str]) -> bool:
    """True when every format counted everything; False when every one says "not evaluated"."""
    said = {fmt: "not evaluated" in text.lower() for fmt, text in texts.items()}
    assert len(set(said.values())) == 1, said
    return not said["github"]


def test_a_primed_diff_counts_the_unchanged_findings_as_the_json_diff_does(org: GitOrg) -> None:
    expected = reference(org)
    assert expected["unchanged"] > 10 and expected["introduced"] == 1, expected
    assert not hit(shown(org))  # nothing primed yet
    audit(org, "main")  # the base checkout: CI's scheduled audit of the default branch
    texts = shown(org)
    assert hit(texts)
    counts = counts_in(texts)
    unchanged = expected["unchanged"]
    assert (counts["github"], counts["table"], counts["markdown"]) == (unchanged,) * 3
    head = (expected["deny"], expected["warn"], expected["waived"])
    assert counts["table head"] == head
    findings = json.loads(diff(org, "json", "--no-cache"))["findings"]
    by_level = {level: sum(1 for f in findings if f["change"] == "unchanged" and level == (
        "waived" if f["waived"] else f["level"])) for level in ("deny", "warn", "waived")}
    assert counts["markdown row"] == (by_level["deny"], by_level["warn"], by_level["waived"])
    assert "not listed here" in texts["markdown"]


def test_an_audit_of_the_head_or_a_complete_diff_primes_it_too(org: GitOrg) -> None:
    unchanged = reference(org)["unchanged"]
    audit(org, "pr")  # only the head's entry
    assert counts_in(shown(org))["github"] == unchanged
    shutil.rmtree(org.root.parent / "cache")
    assert not hit(shown(org))
    diff(org, "json")  # a complete diff writes both sides' entries
    assert counts_in(shown(org))["github"] == unchanged


def test_an_unprimed_diff_says_not_evaluated(org: GitOrg) -> None:
    texts = shown(org)
    assert not hit(texts)
    assert "not evaluated: 29 groups" in texts["github"]
    assert "Not evaluated: 29 groups" in texts["markdown"] and "Not evaluated: 29 groups" in texts["table"]


def test_another_as_of_date_is_a_miss(org: GitOrg) -> None:
    audit(org, "main", as_of="2026-11-28")
    assert not hit(shown(org))
    audit(org, "main")
    assert hit(shown(org))


def test_other_policies_are_a_miss(org: GitOrg) -> None:
    rego = org.root / "policies/access/person/sensitive_reach/sensitive_reach.rego"
    text = rego.read_text()
    rego.write_text(text + "\n# a comment is a change of the policies' digest\n")
    audit(org, "main")
    rego.write_text(text)
    assert not hit(shown(org))
    audit(org, "main")
    assert hit(shown(org))


def test_another_inventory_listing_is_a_miss(org: GitOrg) -> None:
    """An audit that read one file more (not committed) than the base's tree holds primes nothing."""
    extra = org.root / "inventories/people/zz-extra.yaml"
    org.checkout("main")
    extra.write_text("people:\n  - id: zz.extra\n    location: US\n    employment: employee\n")
    org.checkout("pr")
    try:
        audit(org, "main")
    finally:
        extra.unlink()
    assert not hit(shown(org))
    audit(org, "main")
    assert hit(shown(org))


@pytest.mark.parametrize("garble", ["bytes", "shape", "counts"])
def test_a_garbled_entry_is_a_miss(org: GitOrg, tmp_path: Path, garble: str) -> None:
    """Bytes that do not match their digest, a value of another shape, or counts that cannot be this
    side's (fewer findings than the gate found itself) are each a miss, never an error or a wrong count."""
    import hashlib
    import marshal

    audit(org, "main")
    assert hit(shown(org))
    db = sqlite3.connect(tmp_path / "cache" / "cache.sqlite3")
    [(value,)] = db.execute("SELECT value FROM entries WHERE space = ?", (sidecache.SPACE,)).fetchall()
    if garble == "bytes":
        db.execute("UPDATE entries SET value = ? WHERE space = ?", (value[:-1] + b"\x01", sidecache.SPACE))
    else:
        new = marshal.dumps(("1", 2) if garble == "shape" else (0, 0, 0, *marshal.loads(value)[3:]))
        db.execute("UPDATE entries SET value = ?, check_ = ? WHERE space = ?",
                   (new, hashlib.sha256(new).hexdigest(), sidecache.SPACE))
    db.commit()
    db.close()
    assert not hit(shown(org))


def test_person_scope_findings_of_people_the_change_cannot_affect_are_counted(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """ana and bob are each in 13 sensitive groups (a sensitive-reach finding each, person scope); the
    change adds a group of a newcomer only: neither their groups nor they are evaluated."""
    from tests.commands.test_diff_person_scope import group_file, org_on_branch_pr

    monkeypatch.setenv("CHECKER_CACHE_DIR", str(tmp_path / "cache"))
    org = org_on_branch_pr(tmp_path, both=13, message="thirteen sensitive groups for ana and bob")
    org.write({"inventories/people-new.yaml": "people:\n  - {id: cy, location: US, employment: employee, "
                                              "trainings: {privacy: 2026-10-01}}\n",
               "inventories/g20.yaml": group_file(20, "      - ana\n").replace("owner: ana", "owner: cy")
               .replace("      - ana\n", "      - cy\n")})
    org.commit("cy and a group of cy's")
    doc = json.loads(diff(org, "json", "--no-cache"))
    reach = [f for f in doc["findings"] if f["rule"] == "sensitive-reach"]
    assert {(f["person"], f["change"]) for f in reach} == {("ana", "unchanged"), ("bob", "unchanged")}
    assert "people that the change cannot affect" in diff(org, "github")
    audit(org, "main")
    github = diff(org, "github").splitlines()[-1]
    assert f"{doc['summary']['unchanged']} unchanged" in github and "not evaluated" not in github, github


def test_the_table_with_show_unchanged_evaluates_everything_to_list_them(org: GitOrg) -> None:
    unchanged = reference(org)["unchanged"]
    out = diff(org, "table", "--show-unchanged", "--no-cache")
    assert f"Unchanged ({unchanged})" in out and "not evaluated" not in out.lower(), out


def test_a_warm_audit_writes_the_entry_too(org: GitOrg, tmp_path: Path) -> None:
    """An audit answered whole from the cache (checker.runcache) still leaves the side's counts."""
    audit(org, "main")
    with sqlite3.connect(tmp_path / "cache" / "cache.sqlite3") as db:
        assert db.execute("DELETE FROM entries WHERE space = ?", (sidecache.SPACE,)).rowcount == 1
    db.close()
    assert not hit(shown(org))
    audit(org, "main")
    assert hit(shown(org))


def test_counted_and_evaluated_agree_with_a_full_diff_on_generated_changes(org: GitOrg) -> None:
    """Over random changes (members, people's records, data classes, waivers), a gate-only diff whose
    unchanged findings come partly from a side's counts shows the counts of a complete diff."""
    import random

    from checker.commands import diff as diff_command
    from checker.commands.options import Options
    from checker.report.common import diff_counts

    rng = random.Random(5)
    inventories = org.root / "inventories"
    people_file = inventories / "people/people-0001.yaml"
    groups = sorted((inventories / "groups").rglob("*.yaml"))
    people = re.findall(r"^  - id: (\S+)$", people_file.read_text(), re.MULTILINE)

    def mutate() -> None:
        kind = rng.choice(["join", "leave", "move", "classes", "waiver", "new-waiver"])
        if kind == "move":
            text = people_file.read_text()
            at = rng.choice([m.start() for m in re.finditer(r"    location: [A-Z]{2}\n", text)])
            people_file.write_text(text[:at] + f"    location: {rng.choice(['US', 'CN', 'DE'])}\n" + text[at + 17:])
        elif kind == "waiver":
            path = inventories / "waivers.yaml"
            path.write_text(re.sub(r"expires: \d{4}", rng.choice(["expires: 2026", "expires: 2099"]), path.read_text(),
                                   count=rng.randint(1, 3)))
        elif kind == "new-waiver":
            group = rng.choice(groups)
            with (inventories / "waivers.yaml").open("a") as out:
                out.write(f"  - id: w-{rng.randrange(10**6)}\n    rule: training-expired\n    group: {group.stem}\n"
                          f"    reason: r\n    approved_by: {rng.choice(people)}\n    expires: 2099-01-01\n")
        else:
            path = rng.choice(groups)
            text = path.read_text()
            path.write_text(changed_group(text, kind, lambda: rng.choice([p for p in people if f" {p}\n" not in text])))

    def judged(fmt: str) -> Any:
        options = Options(inventories, org.root / "policies", AS_OF, "embedded", (), None, fmt, None, "never", 1,
                          True)
        with diff_command.git.Repository(org.root) as repository, diff_command.cache_for(options) as cache:
            tip, old, new = diff_command.read_sides(repository, options, "main", "HEAD")
            return diff_command.compare(repository, cache, options, tip, old, new)

    counted = 0
    for step in range(8):
        for _ in range(rng.randint(1, 2)):
            mutate()
        org.commit(f"step {step}")
        full = judged("json")  # writes both sides' counts
        gate = judged("github")
        assert "not_evaluated" not in gate.meta, step
        assert diff_counts(gate) == full.counts(), step
        counted += sum(gate.meta["unchanged_unlisted"].values())
    assert counted > 100  # most unchanged findings came from the counts


def test_an_audit_stores_the_inventory_the_first_diff_reads_back(org: GitOrg) -> None:
    """An audit of the base stores its inventory under the key the diff computes from git (issue 12.3),
    so the first diff after it builds no base; and that diff reports what a diff without cache does."""
    from checker import incremental, pipeline
    from checker.cache import Cache, default_dir

    policy_set = pipeline.load_policies(org.root / "policies")
    rows = [line.split(None, 3) for line in org.git("ls-tree", "-r", "main", "inventories").splitlines()]
    key = incremental.key([(path, sha) for _mode, _kind, sha, path in rows], pipeline.known_for(policy_set))

    def stored() -> Any:
        cache = Cache(default_dir())
        try:
            return incremental.get(cache, key)
        finally:
            cache.close()

    assert stored() is None
    audit(org, "main")
    inv = stored()
    assert inv is not None and len(inv.groups) == 30 and inv.files == tuple(path for *_, path in rows)
    assert json.loads(diff(org, "json"))["summary"] == reference(org)
