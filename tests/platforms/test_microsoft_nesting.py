"""Nested groups on Microsoft 365: Graph's transitiveMembers, read through the real SDK, gives each group's
effective membership; it must equal an expansion computed here from the fake tenant's direct memberships."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.platforms import ConnectorSettings, connector
from testing.fake_microsoft import FakeMicrosoft, MicrosoftTenant, generated

pytest.importorskip("msgraph")


def independent_expansion(tenant: MicrosoftTenant) -> dict[str, set[str]]:
    """Group id -> users and contacts reached, plus the owners that are users; listed groups only."""
    kinds = {o["id"]: o["@odata.type"] for o in tenant.others}
    groups = {g["id"] for g in tenant.groups}
    out: dict[str, set[str]] = {}
    for g in tenant.groups:
        if not (g["mailEnabled"] or "Team" in g["resourceProvisioningOptions"]):
            continue
        accounts = {o for o in tenant.owners.get(g["id"], []) if o not in kinds}
        seen, todo = {g["id"]}, [g["id"]]
        while todo:
            for oid in tenant.members.get(todo.pop(), []):
                if oid in groups:
                    if oid not in seen:
                        seen.add(oid)
                        todo.append(oid)
                elif kinds.get(oid, "#microsoft.graph.orgContact") == "#microsoft.graph.orgContact":
                    accounts.add(oid)
        out[g["id"]] = accounts
    return out


def test_effective_membership_of_a_5000_user_tenant(tmp_path: Path) -> None:
    tenant = generated(users=5000, groups=300)
    with FakeMicrosoft(tenant, tmp_path) as fake:
        snap = connector("microsoft").read(ConnectorSettings(fake.environ(), api_url=fake.graph_url))
    expected = independent_expansion(tenant)
    got = {g.external_id: set(g.members) for g in snap.groups}
    assert got == expected
    gid = "11111111-0000-4000-8000-{:012d}".format
    assert got[gid(1)] == got[gid(2)] == got[gid(3)]  # the cycle 1 > 2 > 3 > 1
    assert set(tenant.members[gid(3)]) - {gid(1)} <= got[gid(0)]  # three deep
    kinds = {g.external_id: g.kind for g in snap.groups}
    assert kinds[gid(5)] == "channel" and kinds[gid(0)] == "mailing-list" and gid(7) not in kinds
    people = snap.person_by_account()
    guest = people["00000000-0000-4000-8000-000000000040"]
    assert guest.employment is None and guest.location is not None
