"""The Lark connector: the real lark-oapi SDK making real HTTP requests to testing/fake_lark.py."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker.platforms import ConnectorSettings, PlatformError, connector
from checker.snapshot import SnapshotGroup, SnapshotPerson
from testing.fake_http import Reply, serve
from testing.fake_lark import FREQUENCY_LIMIT, FakeLark, LarkTenant, scope_error, user
from tests.conftest import run_checker

pytest.importorskip("lark_oapi")
CHATS = "/open-apis/im/v1/chats"
USERS = "/open-apis/contact/v3/users/batch"
_apps = iter(range(10**6))


def tenant() -> LarkTenant:
    """120 staff and 3 guests of another tenant; 3 chats (the big one: 2 pages of 100 members)."""
    staff = [f"ou_{i:032x}" for i in range(120)]
    users = {oid: user(oid, f"Person {i}", email=f"p{i}@example.com" if i % 2 else None,
                       enterprise_email=None if i % 2 else f"p{i}@corp.example.com",
                       country=["US", "CN", "SG"][i % 3] if i % 5 else None, employee_type=1 + i % 6,
                       resigned=i == 7) for i, oid in enumerate(staff)}
    guests = [(f"ou_guest{i:027x}", f"Guest {i}", "2ed263bf32cf1651") for i in range(3)]
    chats = [{"chat_id": f"oc_{c:032x}", "name": f"Chat {c}", "owner_id": staff[c],
              "members": [(m, users[m]["name"], "736588c9260f175d") for m in staff[c: c + 10]]} for c in range(2)]
    chats.append({"chat_id": "oc_big", "name": "TT Safety verification", "owner_id": staff[0],
                  "members": [(m, users[m]["name"], "736588c9260f175d") for m in staff] + guests})
    # a unique app id per tenant: lark-oapi caches tenant tokens per app id for the whole process
    return LarkTenant(app_id=f"cli_fake{next(_apps)}_{os.getpid()}", chats=chats, users=users)


@pytest.fixture
def fake() -> Iterator[tuple[FakeLark, str]]:
    api = FakeLark(tenant())
    with serve(api) as url:
        yield api, url


def settings(api: FakeLark, url: str, secret: str | None = None, max_wait: float = 30) -> ConnectorSettings:
    env = {"LARK_APP_ID": api.tenant.app_id, "LARK_APP_SECRET": secret or api.tenant.app_secret}
    return ConnectorSettings(env, api_url=url, max_wait_seconds=max_wait)


def test_reads_chats_members_and_people_over_several_pages(fake: tuple[FakeLark, str]) -> None:
    api, url = fake
    snap = connector("lark").read(settings(api, url))
    assert snap.platform == "lark"
    assert [g.external_id for g in snap.groups] == ["oc_" + f"{0:032x}", "oc_" + f"{1:032x}", "oc_big"]
    big = snap.groups[2]
    assert big == SnapshotGroup("oc_big", "TT Safety verification", "chat", f"ou_{0:032x}",
                                tuple(m for m, _, _ in api.tenant.chats[2]["members"]))
    assert api.count(f"{CHATS}/oc_big/members") == 2  # page_size 100: 123 members in two pages
    assert api.count(USERS) == 3  # batches of 50
    people = {p.account: p for p in snap.people}
    assert people[f"ou_{1:032x}"] == SnapshotPerson(f"ou_{1:032x}", "p1@example.com", "Person 1", "CN",
                                                    "employee", "active")
    assert people[f"ou_{2:032x}"].email == "p2@corp.example.com"  # enterprise_email when email is absent
    assert people[f"ou_{2:032x}"].employment == "vendor"  # employee_type 3: outsourced
    assert people[f"ou_{5:032x}"].location is None  # the tenant does not expose a country for them
    assert people[f"ou_{5:032x}"].employment is None  # employee_type 6: not one Lark documents
    assert people[f"ou_{7:032x}"].status == "departed"  # status.is_resigned
    guest = people[f"ou_guest{0:027x}"]
    assert guest == SnapshotPerson(guest.account, None, "Guest 0", None, None, None)
    assert snap.notes == ("3 accounts not in the directory (guests or other tenants): attributes null",)


def test_small_pages(fake: tuple[FakeLark, str], monkeypatch: pytest.MonkeyPatch) -> None:
    api, url = fake
    monkeypatch.setattr("checker.platforms.lark.PAGE_SIZE", 20)
    monkeypatch.setattr("checker.platforms.lark.BATCH", 20)
    snap = connector("lark").read(settings(api, url))
    assert api.count(f"{CHATS}/oc_big/members") == 7 and api.count(CHATS) == 1
    assert api.count(USERS) == 7  # 123 accounts in batches of 20
    assert len(snap.groups[2].members) == 123 and len(snap.people) == 123


def test_frequency_limit_is_waited_out(fake: tuple[FakeLark, str]) -> None:
    api, url = fake
    api.fail(f"{CHATS}/oc_big/members", FREQUENCY_LIMIT)
    snap = connector("lark").read(settings(api, url))
    assert api.count(f"{CHATS}/oc_big/members") == 3 and len(snap.groups[2].members) == 123


def test_frequency_limit_beyond_the_bound_fails(fake: tuple[FakeLark, str]) -> None:
    api, url = fake
    api.fail(CHATS, FREQUENCY_LIMIT)
    with pytest.raises(PlatformError, match="frequency limit; waiting 1s more would exceed the bound"):
        connector("lark").read(settings(api, url, max_wait=0.5))


def test_wrong_secret(fake: tuple[FakeLark, str]) -> None:
    api, url = fake
    with pytest.raises(PlatformError) as caught:
        connector("lark").read(settings(api, url, secret="wrong-secret-value"))
    assert str(caught.value) == "lark: cannot obtain a tenant access token: code 10014: app secret invalid"


def test_missing_scope(fake: tuple[FakeLark, str]) -> None:
    api, url = fake
    api.fail(USERS, scope_error("contact:user.base:readonly"))
    with pytest.raises(PlatformError, match=r"contact/v3/users/batch: code 99991672: Access denied. One of the "
                                            r"following scopes is required: \[contact:user.base:readonly\]"):
        connector("lark").read(settings(api, url))


def test_no_credentials() -> None:
    with pytest.raises(PlatformError, match="set LARK_APP_ID and LARK_APP_SECRET"):
        connector("lark").read(ConnectorSettings({}))


def test_error_mid_pagination_writes_no_file(fake: tuple[FakeLark, str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the command line: the second page of members fails -> exit 2, no file, no secret shown."""
    api, url = fake
    api.fail(f"{CHATS}/oc_big/members", Reply(500, {"code": 1500, "msg": "internal error"}), after=1)
    out = tmp_path / "lark.json"
    env = {"LARK_APP_ID": api.tenant.app_id, "LARK_APP_SECRET": api.tenant.app_secret}
    done = run_checker("snapshot", "--platform", "lark", "--api-url", url, "--output", str(out), env=env,
                       cwd=tmp_path)
    assert done.returncode == 2
    assert "lark: im/v1/chats/oc_big/members: code 1500: internal error" in done.stderr
    assert not out.exists() and os.listdir(tmp_path) == []
    assert api.tenant.app_secret not in done.stderr + done.stdout


def test_command_writes_a_valid_snapshot(fake: tuple[FakeLark, str], tmp_path: Path) -> None:
    api, url = fake
    out = tmp_path / "lark.json"
    env = {"LARK_APP_ID": api.tenant.app_id, "LARK_APP_SECRET": api.tenant.app_secret}
    done = run_checker("snapshot", "--platform", "lark", "--api-url", url, "--output", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert api.tenant.app_secret not in done.stderr + out.read_text()
    assert "t-g1044ffakeTenantToken" not in done.stderr + out.read_text()
    doc = json.loads(out.read_text())
    assert (doc["platform"], len(doc["groups"]), len(doc["people"])) == ("lark", 3, 123)


def test_without_the_sdk_the_command_names_the_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "lark_oapi"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('blocked', name='lark_oapi')\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ['PYTHONPATH']}", "LARK_APP_ID": "x",
           "LARK_APP_SECRET": "y"}
    done = run_checker("snapshot", "--platform", "lark", "--output", str(tmp_path / "s.json"), env=env)
    assert done.returncode == 2
    assert "pip install 'checker[lark]'" in done.stderr
