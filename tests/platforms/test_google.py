"""The Google Workspace connector: the real google-api-python-client and google-auth making real HTTP
requests to testing/fake_google.py (token endpoint and Directory API on 127.0.0.1)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from checker.platforms import ConnectorSettings, PlatformError, connector
from checker.snapshot import SnapshotGroup, SnapshotPerson
from testing.fake_google import FakeGoogle, Fault, GoogleTenant, error_body, group, member, serve, user
from tests.conftest import run_checker

pytest.importorskip("googleapiclient")
GROUPS = r"/admin/directory/v1/groups$"
USERS = r"/admin/directory/v1/users$"
ENG_MEMBERS = r"/groups/eng@example\.com/members$|/groups/g-eng/members$"
CUSTOMER = "customer:C03az79cb"


def tenant() -> GoogleTenant:
    """Six users; all@ > eng@ > sec@ > ops@ nested three deep, and ops@ contains eng@ again (a cycle);
    everyone-in-the-domain, an EXTERNAL member and an outside USER; eng@ has two OWNERs."""
    users = [
        user("101", "ana@example.com", "Ana", country="US", employee_type="Full-time"),
        {**user("102", "bo@example.com", "Bo", employee_type="Contractor"),
         "addresses": [{"type": "home", "countryCode": "DE"}, {"type": "work", "countryCode": "cn"}]},
        user("103", "cy@example.com", "Cy", country="SG", employee_type="Vendor", suspended=True),
        user("104", "di@example.com", "Di", archived=True),
        user("105", "ed@example.com", "Ed", country="US", employee_type="Intern"),
        user("106", "flo@example.com", "Flo", country="GB", employee_type="Employee"),
    ]
    groups = [group("g-all", "all@example.com", "Everyone"), group("g-eng", "eng@example.com", "Engineering"),
              group("g-sec", "sec@example.com", "Security"), group("g-ops", "ops@example.com", "Operations"),
              group("g-empty", "empty@example.com", "Empty")]
    members = {
        "g-all": [member("101", "ana@example.com", role="OWNER"), member("g-eng", "eng@example.com", kind="GROUP"),
                  member("C03az79cb", None, kind="CUSTOMER"), member("ext-1", "pat@partner.org", kind="EXTERNAL")],
        "g-eng": [member("102", "bo@example.com", role="OWNER"), member("101", "ana@example.com", role="OWNER"),
                  member("g-sec", "sec@example.com", kind="GROUP")],
        "g-sec": [member("103", "cy@example.com", role="MANAGER"), member("g-ops", "ops@example.com", kind="GROUP")],
        "g-ops": [member("104", "di@example.com"), member("g-eng", "eng@example.com", kind="GROUP"),
                  member("out-9", "kim@gmail.com")],
    }
    # pages of 2, so every list spans several pages
    return GoogleTenant(users=users, groups=groups, members=members,
                        page_cap={"groups": 2, "members": 2, "users": 2})


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with serve(tenant()) as server:
        yield server


def key_file(fake: FakeGoogle, folder: Path, key: rsa.RSAPrivateKey | None = None) -> Path:
    info = fake.tenant.service_account_info(fake.token_uri)
    if key is not None:
        info = GoogleTenant(key=key).service_account_info(fake.token_uri) | {"client_email": fake.tenant.client_email}
    path = folder / "service-account.json"
    path.write_text(json.dumps(info))
    return path


def settings(fake: FakeGoogle, folder: Path, subject: str = "admin@example.com", max_wait: float = 30,
             **env: str) -> ConnectorSettings:
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file(fake, folder)), **env}
    return ConnectorSettings(environ, api_url=fake.url, subject=subject, max_wait_seconds=max_wait)


def test_groups_owners_nested_members_and_users(fake: FakeGoogle, tmp_path: Path) -> None:
    snap = connector("google").read(settings(fake, tmp_path))
    assert snap.platform == "google" and snap.source["tenant"] == "my_customer"
    loop = ("101", "102", "103", "104", "out-9")
    assert snap.groups == (
        SnapshotGroup("all@example.com", "Everyone", "mailing-list", "101", tuple(sorted((*loop, "ext-1", CUSTOMER)))),
        SnapshotGroup("empty@example.com", "Empty", "mailing-list", None, ()),
        SnapshotGroup("eng@example.com", "Engineering", "mailing-list", "101", loop),
        SnapshotGroup("ops@example.com", "Operations", "mailing-list", None, loop),
        SnapshotGroup("sec@example.com", "Security", "mailing-list", None, loop),
    )
    assert snap.people == (
        SnapshotPerson("101", "ana@example.com", "Ana", "US", "employee", "active"),
        SnapshotPerson("102", "bo@example.com", "Bo", "CN", "contractor", "active"),  # the work address
        SnapshotPerson("103", "cy@example.com", "Cy", "SG", "vendor", "departed"),  # suspended
        SnapshotPerson("104", "di@example.com", "Di", None, None, "departed"),  # archived
        SnapshotPerson("105", "ed@example.com", "Ed", "US", None, "active"),  # "Intern" maps to nothing
        SnapshotPerson("106", "flo@example.com", "Flo", "GB", "employee", "active"),
        SnapshotPerson(CUSTOMER, None, "everyone in the domain", None, None, None),
        SnapshotPerson("ext-1", "pat@partner.org", None, None, None, None),  # EXTERNAL: employment null
        SnapshotPerson("out-9", "kim@gmail.com", None, None, None, None),  # outside the directory
    )
    assert snap.notes == (
        "1 user(s) have employee type 'Intern', which maps to no employment (null)",
        "groups eng@example.com, ops@example.com, sec@example.com contain each other (a membership cycle); "
        "each is given the members of all",
        "3 group(s) have no OWNER (owner null): empty@example.com, ops@example.com, sec@example.com",
        "group eng@example.com has 2 OWNERs; owner is ana@example.com (first by email), the others are members: "
        "bo@example.com",
        f"{CUSTOMER} stands for everyone in the domain; it matches no inventory person",
    )
    # several pages of each list: 5 groups, 6 users, eng@ with 3 members, in pages of 2
    assert fake.requests["GET /admin/directory/v1/groups"] == 3
    assert fake.requests["GET /admin/directory/v1/users"] == 3
    assert fake.requests["GET /admin/directory/v1/groups/{groupKey}/members"] == 2 + 2 + 1 + 2 + 1
    assert fake.requests["POST /token"] == 1
    assert set(fake.asked) == {("groups", "200"), ("members", "200"), ("users", "500")}  # the documented maxima
    assert fake.granted == [{"https://www.googleapis.com/auth/admin.directory.group.readonly",
                             "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
                             "https://www.googleapis.com/auth/admin.directory.user.readonly"}]


def test_custom_schema_fields_for_employment_and_location(fake: FakeGoogle, tmp_path: Path) -> None:
    fake.tenant.users[4]["customSchemas"] = {"HR": {"kind": "Contractor", "country": "NZ"}}
    snap = connector("google").read(settings(fake, tmp_path, CHECKER_GOOGLE_EMPLOYMENT_FIELD="HR.kind",
                                             CHECKER_GOOGLE_LOCATION_FIELD="HR.country"))
    people = snap.person_by_account()
    assert (people["105"].employment, people["105"].location) == ("contractor", "NZ")
    assert (people["101"].employment, people["101"].location) == (None, None)  # not in the schema: unknown


def test_nested_group_of_another_customer_is_read_too(fake: FakeGoogle, tmp_path: Path) -> None:
    fake.tenant.groups = [g for g in fake.tenant.groups if g["id"] != "g-ops"]  # groups.list no longer has it
    snap = connector("google").read(settings(fake, tmp_path))
    assert "ops@example.com" not in {g.external_id for g in snap.groups}
    assert {g.external_id: g.members for g in snap.groups}["sec@example.com"] == ("101", "102", "103", "104", "out-9")


def test_rate_limits_are_waited_out(fake: FakeGoogle, tmp_path: Path) -> None:
    fake.tenant.faults = [Fault(USERS, 429, headers={"Retry-After": "1"}, nth=2),
                          Fault(ENG_MEMBERS, 403, error_body(403, "Quota exceeded", "userRateLimitExceeded",
                                                             "PERMISSION_DENIED"), headers={"Retry-After": "0"})]
    snap = connector("google").read(settings(fake, tmp_path, max_wait=5))
    assert len(snap.people) == 9
    assert fake.requests["GET /admin/directory/v1/users"] == 4  # page 2 asked twice


def test_rate_limit_beyond_the_bound_fails(fake: FakeGoogle, tmp_path: Path) -> None:
    fake.tenant.faults = [Fault(GROUPS, 429, headers={"Retry-After": "30"})]
    with pytest.raises(PlatformError) as caught:
        connector("google").read(settings(fake, tmp_path, max_wait=2))
    assert str(caught.value) == ("Google groups.list (page 1): still rate limited; waiting 30 s more would pass the "
                                 "limit of 2 s for rate limits (waited 0 s)")


def test_wrong_key_is_an_auth_failure(fake: FakeGoogle, tmp_path: Path) -> None:
    path = key_file(fake, tmp_path, key=rsa.generate_private_key(65537, 2048))
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(path)}
    with pytest.raises(PlatformError) as caught:
        connector("google").read(ConnectorSettings(env, api_url=fake.url, subject="admin@example.com"))
    assert str(caught.value) == "Google sign-in failed for groups.list (page 1): invalid_grant: Invalid JWT Signature."


def test_subject_without_delegation_is_refused(fake: FakeGoogle, tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="unauthorized_client: Client is unauthorized to retrieve access tokens"):
        connector("google").read(settings(fake, tmp_path, subject="someone@example.com"))


def test_missing_scope_is_an_api_error(fake: FakeGoogle, tmp_path: Path) -> None:
    fake.tenant.faults = [Fault(USERS, 403, error_body(403, "Not Authorized to access this resource/api",
                                                       "forbidden", "PERMISSION_DENIED"))]
    with pytest.raises(PlatformError) as caught:
        connector("google").read(settings(fake, tmp_path))
    assert str(caught.value) == ("Google Directory API users.list (page 1): HTTP 403 Not Authorized to access this "
                                 "resource/api (forbidden)")


def test_unreadable_key_file(tmp_path: Path) -> None:
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")}
    with pytest.raises(PlatformError, match=r"missing\.json: cannot read: No such file or directory"):
        connector("google").read(ConnectorSettings(env))


def _cli_env(fake: FakeGoogle, folder: Path) -> dict[str, str]:
    return {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file(fake, folder))}


def test_failure_mid_paging_exits_2_and_writes_no_file(fake: FakeGoogle, tmp_path: Path) -> None:
    """Through the command line: page 2 of eng@'s members fails -> exit 2, no file, no key shown."""
    fake.tenant.faults = [Fault(ENG_MEMBERS, 500, nth=2)]
    out = tmp_path / "out" / "google.json"
    done = run_checker("snapshot", "--platform", "google", "--api-url", fake.url, "--subject", "admin@example.com",
                       "--output", str(out), env=_cli_env(fake, tmp_path))
    assert done.returncode == 2, done.stderr
    assert ("Google Directory API members.list of group eng@example.com (page 2): HTTP 500 fault (backendError)"
            in done.stderr)
    assert not out.exists() and (not out.parent.exists() or os.listdir(out.parent) == [])
    _no_secret(fake, done.stdout + done.stderr)


def test_command_writes_a_valid_snapshot(fake: FakeGoogle, tmp_path: Path) -> None:
    out = tmp_path / "google.json"
    done = run_checker("snapshot", "--platform", "google", "--api-url", fake.url, "--subject", "admin@example.com",
                       "--output", str(out), env=_cli_env(fake, tmp_path))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert (doc["platform"], len(doc["groups"]), len(doc["people"])) == ("google", 5, 9)
    _no_secret(fake, done.stdout + done.stderr + out.read_text())


def _no_secret(fake: FakeGoogle, text: str) -> None:
    pem = fake.tenant.service_account_info("")["private_key"]
    assert pem.splitlines()[1] not in text and "PRIVATE KEY" not in text
    assert not any(token in text for token in fake.tokens)


def test_without_the_sdk_the_command_names_the_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "googleapiclient"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('blocked', name='googleapiclient')\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ['PYTHONPATH']}"}
    done = run_checker("snapshot", "--platform", "google", "--output", str(tmp_path / "s.json"), env=env)
    assert done.returncode == 2
    assert "pip install 'checker[google]'" in done.stderr


def test_an_answer_without_ids_is_an_error(fake: FakeGoogle, tmp_path: Path) -> None:
    fake.tenant.faults = [Fault(GROUPS, 200, {"kind": "admin#directory#groups", "groups": [{"email": "x@y"}]})]
    with pytest.raises(PlatformError, match=r"groups.list \(page 1\): unusable answer: groups is not a list"):
        connector("google").read(settings(fake, tmp_path))


def test_an_owner_mapping_is_refused_not_ignored(fake: FakeGoogle, tmp_path: Path) -> None:
    given = settings(fake, tmp_path)
    with pytest.raises(PlatformError, match="--owners does not apply to Google"):
        connector("google").read(ConnectorSettings(given.environ, api_url=fake.url, options={"a@example.com": "1"}))
