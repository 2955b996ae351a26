"""`checker audit --history` on a repository with a known series of commits gives the known series."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from checker import history
from checker.models import Finding
from testing.gitorg import GitOrg, make_org
from tests.conftest import run_checker

AS_OF = "2026-11-29"


def commit_at(org: GitOrg, when: str, message: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{when} +0000")
    monkeypatch.setenv("GIT_AUTHOR_DATE", f"{when} +0000")
    return org.commit(message)


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitOrg, dict[str, str]]:
    """A: 11-01 09:00 (cn-review's owner is in CN), B: 11-01 17:00 (fixed), C: 11-03 (us-escalations
    now holds EU users' data, so its US owner and member are outside), D: 11-10 (bob moves to IE)."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-10-20T09:00:00 +0000")
    repo = make_org(tmp_path / "repo")
    repo.checkout("main")
    shas = {"A": commit_at(repo, "2026-11-01T09:00:00", "A", monkeypatch)}
    repo.edit("inventories/groups/cn-review.yaml", "owner: li", "owner: ana")
    shas["B"] = commit_at(repo, "2026-11-01T17:00:00", "B", monkeypatch)
    repo.edit("inventories/groups/us-escalations.yaml", "subject_jurisdictions: [US]", "subject_jurisdictions: [EU]")
    shas["C"] = commit_at(repo, "2026-11-03T12:00:00", "C", monkeypatch)
    repo.edit("inventories/people/us.yaml", "  - id: bob\n    location: US", "  - id: bob\n    location: IE")
    shas["D"] = commit_at(repo, "2026-11-10T12:00:00", "D", monkeypatch)
    return repo, shas


def audit_history(repo: GitOrg, *args: str) -> dict:
    proc = run_checker("audit", "--as-of", AS_OF, "--format", "json", "--fail-on", "never", *args, cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def owner_location(point: dict) -> int:
    return point["counts"].get("owner-location", {}).get("deny", 0)


def test_daily_series_takes_the_last_commit_of_each_day(org: tuple[GitOrg, dict[str, str]]) -> None:
    repo, shas = org
    doc = audit_history(repo, "--history", "2026-10-31")
    series = doc["history"]
    assert [(p["date"], p["commit"]) for p in series] == [
        ("2026-11-01", shas["B"]), ("2026-11-03", shas["C"]), ("2026-11-10", shas["D"])]
    assert [owner_location(p) for p in series] == [0, 1, 1]
    member = [p["counts"].get("member-location", {}).get("deny", 0) for p in series]
    # bob (US) is outside EU in us-escalations on 11-03; once he moves to IE he is inside EU but
    # outside US in cn-review, which he is also a member of.
    assert member == [0, 1, 1]
    opened = [(c["date"], c["change"], c["rule"], c["group"], c["person"]) for c in doc["history_changes"]]
    assert ("2026-11-03", "opened", "owner-location", "us-escalations", None) in opened
    assert ("2026-11-03", "opened", "member-location", "us-escalations", "bob") in opened
    assert ("2026-11-10", "closed", "member-location", "us-escalations", "bob") in opened
    assert ("2026-11-10", "opened", "member-location", "cn-review", "bob") in opened


def test_series_from_a_ref_starts_at_that_commit(org: tuple[GitOrg, dict[str, str]]) -> None:
    repo, shas = org
    series = audit_history(repo, "--history", shas["C"])["history"]
    assert [p["commit"] for p in series] == [shas["C"], shas["D"]]


def test_weekly_series(org: tuple[GitOrg, dict[str, str]]) -> None:
    repo, shas = org
    series = audit_history(repo, "--history", "2026-10-31", "--history-step", "week")["history"]
    # 2026-11-01 is a Sunday (week of 10-26); 11-03 is in the week of 11-02; 11-10 in the week of 11-09.
    assert [(p["date"], p["commit"]) for p in series] == [
        ("2026-10-26", shas["B"]), ("2026-11-02", shas["C"]), ("2026-11-09", shas["D"])]


def test_history_outside_a_repository_exits_2(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    proc = run_checker("audit", "--history", "30d", "--inventories", str(ROOT / "inventories"),
                       "--policies", str(ROOT / "policies"), "--format", "json", cwd=tmp_path)
    # The shipped inventories are in this checkout's repository, so the run completes from anywhere.
    assert proc.returncode in (0, 1), proc.stderr
    lone = tmp_path / "lone"
    lone.mkdir()
    proc = run_checker("audit", "--history", "30d", "--inventories", str(lone), "--policies",
                       str(ROOT / "policies"), cwd=tmp_path)
    assert proc.returncode == 2
    # it says how to point at a repository with an option audit has (there is no --repo on audit)
    assert "point --inventories at the inventory folder of a git checkout" in proc.stderr
    assert "--repo" not in proc.stderr


@pytest.mark.parametrize(("since", "words"), [("2026-13-01", "is not a real date"),
                                               ("2026-02-30", "is not a real date"),
                                               ("2026-1-5", "is not a YYYY-MM-DD date"),
                                               ("1850-01-01", "is not between 1900-01-01 and 2199-12-31")])
def test_a_bad_history_date_says_so(since: str, words: str) -> None:
    with pytest.raises(history.UsageError) as exc:
        history.parse_since(since, dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    assert str(exc.value) == f"--history {since!r} {words} (SINCE is 90d, 12w, a YYYY-MM-DD date or a git ref)"


def test_a_bad_history_date_on_the_command_line_is_not_an_unknown_ref() -> None:
    from tests.conftest import ROOT

    proc = run_checker("audit", "--history", "2026-13-01", "--format", "json", cwd=ROOT)
    assert proc.returncode == 2 and "'2026-13-01' is not a real date" in proc.stderr
    assert "unknown git ref" not in proc.stderr


def test_parse_since() -> None:
    now = dt.datetime(2026, 11, 29, 15, tzinfo=dt.UTC)
    assert history.parse_since("90d", now).moment == dt.datetime(2026, 8, 31, tzinfo=dt.UTC)
    assert history.parse_since("2w", now).moment == dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
    assert history.parse_since("2026-09-01", now).moment == dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    assert history.parse_since("origin/main", now).ref == "origin/main"


def test_changes_ignore_waived_findings() -> None:
    open_ = Finding("r", "deny", "g", None, "m")
    waived = open_.with_(waived=True, waiver="w")
    assert history.changes([open_], [waived], "2026-11-29") == [
        {"date": "2026-11-29", "change": "closed", "rule": "r", "level": "deny", "group": "g", "person": None}]


@pytest.mark.parametrize("trick", ["bad-name", "loop", "leaving"])
def test_one_bad_old_commit_is_marked_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                trick: str) -> None:
    """Issue 9.14: a commit whose inventory cannot be read safely (a name that is not UTF-8, a symlink
    loop, a link out) is marked in the series; the others are judged."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-10-20T09:00:00 +0000")
    repo = make_org(tmp_path / "repo")
    repo.checkout("main")
    commit_at(repo, "2026-11-01T09:00:00", "A", monkeypatch)
    if trick == "bad-name":
        bad = repo.root / os.fsdecode(b"inventories/bad\xff.yaml")
        bad.write_text("people: []\n")
    else:
        bad = repo.root / "inventories/bad.yaml"
        bad.symlink_to("bad.yaml" if trick == "loop" else "../policies/data.yaml")
    broken = commit_at(repo, "2026-11-02T09:00:00", "B", monkeypatch)
    repo.git("rm", "-q", "--", os.fsdecode(bytes(bad.relative_to(repo.root))))
    commit_at(repo, "2026-11-03T09:00:00", "C", monkeypatch)
    series = audit_history(repo, "--history", "2026-10-31")["history"]
    assert [p["date"] for p in series] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    [marked] = [p for p in series if "error" in p]
    assert marked["commit"] == broken and "inventories/bad" in marked["error"]
