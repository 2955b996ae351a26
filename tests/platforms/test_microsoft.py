"""The Microsoft 365 connector: the real msgraph-sdk and azure-identity making real HTTPS requests to
testing/fake_microsoft.py (Entra token endpoint and Graph on 127.0.0.1, a certificate made per test)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker.platforms import ConnectorSettings, PlatformError, connector
from checker.snapshot import SnapshotGroup, SnapshotPerson
from testing.fake_microsoft import FakeMicrosoft, Fault, MicrosoftTenant, graph_error, group, user
from tests.conftest import run_checker

pytest.importorskip("msgraph")
USERS = r"^/v1\.0/users$"
ALL_MEMBERS = r"^/v1\.0/groups/g-all/transitiveMembers$"


def tenant() -> MicrosoftTenant:
    """A distribution list nesting three deep (all > ops > sec > inner), inner containing ops again (a cycle),
    a Team with two owners, two security groups without mail, a guest, a contact, a device, an app owner."""
    users = [
        user("u-ana", "ana@contoso.com", "Ana", mail="ana@contoso.com", usage_location="US", employee_type="Employee"),
        user("u-bo", "bo@contoso.com", "Bo", country="Germany", employee_type="Contractor"),
        user("u-cy", "cy@contoso.com", "Cy", mail="cy@contoso.com", usage_location="SG", employee_type="Vendor",
             enabled=False),
        user("u-di", "di_partner.org#EXT#@contoso.onmicrosoft.com", "Di", mail="di@partner.org", usage_location="FR",
             employee_type="Employee", guest=True),
        user("u-ed", "ed@contoso.com", "Ed", mail="ed@contoso.com", usage_location="US", employee_type="Intern"),
    ]
    groups = [group("g-all", "All", unified=False, mail="all@contoso.com"),
              group("g-ops", "Operations", unified=False, mail="ops@contoso.com"),
              group("g-sec", "Security", unified=False, mail_enabled=False),
              group("g-inner", "Inner", unified=False, mail_enabled=False),
              group("g-team", "Engineering", team=True, mail="eng@contoso.com")]
    others = [{"@odata.type": "#microsoft.graph.orgContact", "id": "c-1", "mail": "pat@partner.com",
               "displayName": "Pat Contact"},
              {"@odata.type": "#microsoft.graph.device", "id": "d-1", "displayName": "Kiosk"},
              {"@odata.type": "#microsoft.graph.servicePrincipal", "id": "sp-1", "displayName": "Provisioning app"}]
    members = {"g-all": ["u-ana", "g-ops"], "g-ops": ["u-di", "g-sec", "c-1", "d-1"], "g-sec": ["u-cy", "g-inner"],
               "g-inner": ["u-ed", "g-ops"], "g-team": ["u-ed", "u-bo"]}
    owners = {"g-all": ["sp-1"], "g-ops": ["u-cy"], "g-team": ["u-bo", "u-ana"]}
    return MicrosoftTenant(users=users, groups=groups, members=members, owners=owners, others=others, page_cap=2)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeMicrosoft]:
    with FakeMicrosoft(tenant(), tmp_path / "tls") as server:
        yield server


def settings(fake: FakeMicrosoft, secret: str | None = None, max_wait: float = 30) -> ConnectorSettings:
    return ConnectorSettings(fake.environ(secret), api_url=fake.graph_url, max_wait_seconds=max_wait)


def test_groups_owners_transitive_members_and_users(fake: FakeMicrosoft) -> None:
    snap = connector("microsoft").read(settings(fake))
    assert snap.platform == "microsoft" and snap.source["tenant"] == fake.tenant.tenant_id
    assert snap.groups == (
        SnapshotGroup("g-all", "All", "mailing-list", None, ("c-1", "u-ana", "u-cy", "u-di", "u-ed")),
        SnapshotGroup("g-ops", "Operations", "mailing-list", "u-cy", ("c-1", "u-cy", "u-di", "u-ed")),
        SnapshotGroup("g-team", "Engineering", "channel", "u-ana", ("u-ana", "u-bo", "u-ed")),
    )
    assert snap.people == (
        SnapshotPerson("c-1", "pat@partner.com", "Pat Contact", None, None, None),  # a mail contact: unknown
        SnapshotPerson("u-ana", "ana@contoso.com", "Ana", "US", "employee", "active"),
        SnapshotPerson("u-bo", "bo@contoso.com", "Bo", "DE", "contractor", "active"),  # UPN; country by name
        SnapshotPerson("u-cy", "cy@contoso.com", "Cy", "SG", "vendor", "departed"),  # accountEnabled false
        SnapshotPerson("u-di", "di@partner.org", "Di", "FR", None, "active"),  # a guest: employment null
        SnapshotPerson("u-ed", "ed@contoso.com", "Ed", "US", None, "active"),
    )
    assert snap.notes == (
        "1 user(s) have employee type 'Intern', which maps to no employment (null)",
        "2 security group(s) without mail or Teams are not listed (still expanded where nested)",
        "2 group(s) have members that are not people (devices, service principals), not listed: All (1), "
        "Operations (1)",
        "1 group(s) have no owner that is a user (owner null): All",
        "group Engineering has 2 owners; owner is ana@contoso.com (first by email), the others are members: "
        "bo@contoso.com",
    )
    # pages of 2 through @odata.nextLink: 5 groups, 5 users, g-all reaches 9 objects, g-ops 7, g-team 2
    assert fake.requests["GET /v1.0/groups"] == 3 and fake.requests["GET /v1.0/users"] == 3
    assert fake.requests["GET /v1.0/groups/{id}/transitiveMembers"] == 5 + 4 + 1
    assert fake.requests["GET /v1.0/groups/{id}/owners"] == 3  # security groups without mail are not read
    assert fake.requests["POST /{tenant}/oauth2/v2.0/token"] == 1
    asked = {(entity, top, select) for entity, top, select in fake.asked}
    assert ("users", "999", "id,displayName,mail,userPrincipalName,accountEnabled,usageLocation,country,employeeType,"
                            "userType") in asked
    assert ("groups", "999", "id,displayName,mail,mailEnabled,securityEnabled,groupTypes,"
                             "resourceProvisioningOptions") in asked


def test_429_is_waited_out_as_retry_after_asks(fake: FakeMicrosoft) -> None:
    fake.tenant.faults = [Fault(ALL_MEMBERS, 429, headers={"Retry-After": "1"}, nth=2)]
    snap = connector("microsoft").read(settings(fake, max_wait=5))
    assert snap.groups[0].members == ("c-1", "u-ana", "u-cy", "u-di", "u-ed")
    assert fake.requests["GET /v1.0/groups/{id}/transitiveMembers"] == 11  # page 2 of g-all asked twice


def test_429_beyond_the_bound_fails(fake: FakeMicrosoft) -> None:
    fake.tenant.faults = [Fault(USERS, 429, headers={"Retry-After": "30"})]
    with pytest.raises(PlatformError) as caught:
        connector("microsoft").read(settings(fake, max_wait=2))
    assert str(caught.value) == ("Microsoft Graph users (page 1): still rate limited; waiting 30 s more would pass "
                                 "the limit of 2 s for rate limits (waited 0 s)")


def test_wrong_secret_is_an_auth_failure(fake: FakeMicrosoft) -> None:
    with pytest.raises(PlatformError) as caught:
        connector("microsoft").read(settings(fake, secret="not-the-secret-xyz"))
    assert str(caught.value).startswith("Microsoft sign-in failed: ")
    assert "AADSTS7000215: Invalid client secret provided" in str(caught.value)
    assert "not-the-secret-xyz" not in str(caught.value)


def test_missing_permission_is_an_api_error(fake: FakeMicrosoft) -> None:
    fake.tenant.faults = [Fault(USERS, 403, graph_error(403, "Authorization_RequestDenied",
                                                        "Insufficient privileges to complete the operation."))]
    with pytest.raises(PlatformError) as caught:
        connector("microsoft").read(settings(fake))
    assert str(caught.value) == ("Microsoft Graph users (page 1): HTTP 403 Authorization_RequestDenied: Insufficient "
                                 "privileges to complete the operation.")


def test_missing_variables_are_named() -> None:
    with pytest.raises(PlatformError) as caught:
        connector("microsoft").read(ConnectorSettings({"AZURE_TENANT_ID": "t"}))
    assert str(caught.value) == ("Microsoft Graph needs AZURE_CLIENT_ID, AZURE_CLIENT_SECRET in the environment "
                                 "(an app registration's client credentials)")


def test_failure_mid_paging_exits_2_and_writes_no_file(fake: FakeMicrosoft, tmp_path: Path) -> None:
    """Through the command line: page 3 of g-all's transitive members fails -> exit 2, no file, no secret."""
    fake.tenant.faults = [Fault(ALL_MEMBERS, 500, nth=3)]
    out = tmp_path / "out" / "microsoft.json"
    done = run_checker("snapshot", "--platform", "microsoft", "--api-url", fake.graph_url, "--output", str(out),
                       env=fake.environ())
    assert done.returncode == 2, done.stderr
    assert "Microsoft Graph transitiveMembers of group All (page 3): HTTP 500 UnknownError: fault" in done.stderr
    assert not out.exists() and (not out.parent.exists() or os.listdir(out.parent) == [])
    _no_secret(fake, done.stdout + done.stderr)


def test_command_writes_a_valid_snapshot(fake: FakeMicrosoft, tmp_path: Path) -> None:
    out = tmp_path / "microsoft.json"
    done = run_checker("snapshot", "--platform", "microsoft", "--api-url", fake.graph_url, "--output", str(out),
                       env=fake.environ())
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert (doc["platform"], len(doc["groups"]), len(doc["people"])) == ("microsoft", 3, 6)
    _no_secret(fake, done.stdout + done.stderr + out.read_text())


def _no_secret(fake: FakeMicrosoft, text: str) -> None:
    assert fake.tenant.client_secret not in text
    assert fake.tokens and not any(token in text for token in fake.tokens)


def test_without_the_sdk_the_command_names_the_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "msgraph"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('blocked', name='msgraph')\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ['PYTHONPATH']}"}
    done = run_checker("snapshot", "--platform", "microsoft", "--output", str(tmp_path / "s.json"), env=env)
    assert done.returncode == 2
    assert "pip install 'checker[microsoft]'" in done.stderr


def test_an_answer_that_is_not_a_collection_is_an_error(fake: FakeMicrosoft) -> None:
    fake.tenant.faults = [Fault(USERS, 200, {"value": [{"displayName": "no id"}]})]
    with pytest.raises(PlatformError, match=r"users \(page 1\): the answer is not an OData collection"):
        connector("microsoft").read(settings(fake))


def test_the_same_next_link_twice_ends_the_snapshot(fake: FakeMicrosoft) -> None:
    loop = f"{fake.graph_url}/users?$skiptoken=MA=="
    fake.tenant.faults = [Fault(USERS, 200, {"value": [], "@odata.nextLink": loop}, times=3)]
    with pytest.raises(PlatformError, match=r"the same @odata\.nextLink came back twice"):
        connector("microsoft").read(settings(fake))


def test_an_owner_mapping_is_refused_not_ignored(fake: FakeMicrosoft) -> None:
    with pytest.raises(PlatformError, match="--owners does not apply to Microsoft 365"):
        connector("microsoft").read(ConnectorSettings(fake.environ(), api_url=fake.graph_url, options={"g": "u"}))


def test_an_unreadable_ca_bundle_is_named(fake: FakeMicrosoft, tmp_path: Path) -> None:
    env = {**fake.environ(), "REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")}
    with pytest.raises(PlatformError, match=r"missing\.pem \(REQUESTS_CA_BUNDLE / SSL_CERT_FILE\): cannot load"):
        connector("microsoft").read(ConnectorSettings(env, api_url=fake.graph_url))
