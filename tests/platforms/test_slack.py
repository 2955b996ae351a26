"""The Slack connector: the real slack-sdk WebClient making real HTTP requests to testing/fake_slack.py."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker.platforms import ConnectorSettings, PlatformError, connector
from checker.snapshot import SnapshotPerson
from testing.fake_http import Reply, serve
from testing.fake_slack import RATE_LIMITED, FakeSlack, SlackWorkspace, channel, missing_scope, slack_user
from tests.conftest import run_checker

pytest.importorskip("slack_sdk")


def workspace() -> SlackWorkspace:
    """450 people (3 pages of users), a bot, guests, a deleted user; a public, a private, an archived channel."""
    users = [slack_user(f"U{i:08d}", f"Person {i}", email=f"p{i}@example.com") for i in range(450)]
    users[3] = slack_user("U00000003", "Person 3", email="p3@example.com", deleted=True)
    users[4] = slack_user("U00000004", "Guest Four", email="g4@partner.example", restricted=True)
    users[5] = slack_user("U00000005", "Guest Five", ultra_restricted=True)
    users.append(slack_user("B00000001", "Deploy Bot", bot=True))
    big = [u["id"] for u in users[:430]] + ["B00000001", "W0OTHERORG"]  # a bot, a Slack Connect member
    channels = [channel("C0BIG", "ttsafety-verification", "U00000001", big),
                channel("G0PRIV", "privacy-dsar", "U00000002", ["U00000002", "U00000004"], private=True),
                channel("C0OLD", "old-project", "U00000001", ["U00000001"], archived=True)]
    return SlackWorkspace(users=users, channels=channels)


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, str]]:
    api = FakeSlack(workspace())
    with serve(api) as url:
        yield api, f"{url}/api"


def settings(api: FakeSlack, url: str, token: str | None = None, max_wait: float = 30,
             owners: dict[str, str] | None = None) -> ConnectorSettings:
    return ConnectorSettings({"SLACK_TOKEN": token or api.workspace.token}, api_url=url, max_wait_seconds=max_wait,
                             options=owners or {})


def test_reads_channels_members_and_users(fake: tuple[FakeSlack, str]) -> None:
    api, url = fake
    snap = connector("slack").read(settings(api, url, owners={"G0PRIV": "U00000004"}))
    assert [(g.external_id, g.name, g.kind, g.owner) for g in snap.groups] == [
        ("C0BIG", "ttsafety-verification", "channel", "U00000001"),
        ("G0PRIV", "privacy-dsar", "channel", "U00000004")]  # owner from the mapping, not the creator
    assert api.count("/api/users.list") == 3  # 451 users, 200 a page
    assert api.count("/api/conversations.members") == 4  # 432 members of C0BIG: 3 pages; 1 for G0PRIV
    big = snap.groups[0]
    assert len(big.members) == 431 and "B00000001" not in big.members and "W0OTHERORG" in big.members
    people = {p.account: p for p in snap.people}
    assert people["U00000001"] == SnapshotPerson("U00000001", "p1@example.com", "Person 1", None, None, "active")
    assert people["U00000003"].status == "departed"
    assert people["U00000004"] == SnapshotPerson("U00000004", "g4@partner.example", "Guest Four", None, None,
                                                 "active")
    assert people["W0OTHERORG"] == SnapshotPerson("W0OTHERORG")
    assert "B00000001" not in people
    assert snap.notes == ("1 bots skipped (1 channel memberships of bots)", "2 guests (restricted accounts): "
                          "employment null", "1 accounts from other workspaces: attributes null")
    query = next(r.query for r in api.requests if r.path == "/api/conversations.list")
    assert query["types"] == ["public_channel,private_channel"]


def test_rate_limit_is_waited_out_by_the_sdk(fake: tuple[FakeSlack, str]) -> None:
    api, url = fake
    api.fail("/api/conversations.members", RATE_LIMITED, after=1)
    snap = connector("slack").read(settings(api, url))
    assert api.count("/api/conversations.members") == 5 and len(snap.groups[0].members) == 431


def test_rate_limit_beyond_the_bound_fails(fake: tuple[FakeSlack, str]) -> None:
    api, url = fake
    api.fail("/api/users.list", RATE_LIMITED)
    with pytest.raises(PlatformError, match=r"users\.list: ratelimited: Retry-After waits would exceed the bound"):
        connector("slack").read(settings(api, url, max_wait=1))


def test_invalid_auth(fake: tuple[FakeSlack, str]) -> None:
    api, url = fake
    with pytest.raises(PlatformError) as caught:
        connector("slack").read(settings(api, url, token="xoxb-wrong-token"))
    assert str(caught.value) == "slack: users.list: invalid_auth"
    assert "xoxb-wrong-token" not in str(caught.value)


def test_missing_scope(fake: tuple[FakeSlack, str]) -> None:
    api, url = fake
    api.fail("/api/conversations.list", missing_scope("groups:read"))
    with pytest.raises(PlatformError) as caught:
        connector("slack").read(settings(api, url))
    assert str(caught.value) == ("slack: conversations.list: missing_scope: the token lacks groups:read "
                                 "(it has channels:read,users:read)")


def test_error_mid_pagination_writes_no_file(fake: tuple[FakeSlack, str], tmp_path: Path) -> None:
    api, url = fake
    api.fail("/api/users.list", Reply(500, {"ok": False, "error": "internal_error"}), after=1)
    out = tmp_path / "slack.json"
    done = run_checker("snapshot", "--platform", "slack", "--api-url", url, "--output", str(out),
                       env={"SLACK_TOKEN": api.workspace.token}, cwd=tmp_path)
    assert done.returncode == 2
    assert "slack: users.list: internal_error" in done.stderr
    assert os.listdir(tmp_path) == []
    assert api.workspace.token not in done.stderr + done.stdout


def test_command_writes_a_valid_snapshot(fake: tuple[FakeSlack, str], tmp_path: Path) -> None:
    api, url = fake
    out = tmp_path / "slack.json"
    done = run_checker("snapshot", "--platform", "slack", "--api-url", url, "--output", str(out),
                       env={"SLACK_TOKEN": api.workspace.token})
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert (doc["platform"], len(doc["groups"]), len(doc["people"])) == ("slack", 2, 451)
    assert api.workspace.token not in done.stderr + out.read_text()


def test_failed_snapshot_reports_json_on_stdout_not_in_the_snapshot_file(fake: tuple[FakeSlack, str],
                                                                        tmp_path: Path) -> None:
    _, url = fake
    out = tmp_path / "slack.json"
    done = run_checker("snapshot", "--platform", "slack", "--api-url", url, "--output", str(out), "--format", "json",
                       env={"SLACK_TOKEN": "xoxb-not-the-right-one"}, cwd=tmp_path)
    assert done.returncode == 2
    assert not out.exists()
    doc = json.loads(done.stdout)
    assert doc["error"] is True and doc["problems"][0]["message"] == "slack: users.list: invalid_auth"
