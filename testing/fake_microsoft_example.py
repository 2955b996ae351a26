"""The example org's Microsoft 365 tenant, drifted from what inventories/ declares, for
examples/snapshots/microsoft.json.

    python3 -m testing.fake_microsoft_example examples/snapshots/microsoft.json

writes the snapshot by running the real connector (msgraph-sdk, azure-identity) against
testing/fake_microsoft.py holding this tenant, so the example is what `checker snapshot` produces.
Drift, by SPEC §8 rule:
- drift-unreviewed-member: camille.durand was added to the works council Team.
- drift-unknown-account: a guest from a partner (userType Guest, employment null) is in it too.
- drift-person-attribute: felix.wagner's account is disabled (departed); tom.alvarez's employeeType says Contractor.
- drift-unmanaged-group: the "All Company" Microsoft 365 group is in no inventory.
People match by email (`mail`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import tempfile
import uuid
from pathlib import Path

from checker.platforms import ConnectorSettings, connector
from checker.snapshot import Snapshot, write
from testing.fake_google_example import TAKEN_AT, inventory_people
from testing.fake_microsoft import FakeMicrosoft, MicrosoftTenant, group, user

WORKS_COUNCIL = "5f0c2b6e-8d1a-4c3e-9b7f-2a6d4e8c1f03"  # teams-de-works-council's external_id
EMPLOYEE_TYPE = {"employee": "Employee", "contractor": "Contractor", "vendor": "Vendor"}


def entra_id(name: str) -> str:
    """A stable object id (a UUID) for the same name."""
    return str(uuid.UUID(hashlib.sha256(f"entra:{name}".encode()).hexdigest()[:32]))


def tenant() -> MicrosoftTenant:
    out = MicrosoftTenant(tenant_id="0b6e1c8a-3f2d-4e5b-9a7c-6d8e2f1a4b3c")
    for p in inventory_people():
        if not p.get("email"):
            continue  # not in this tenant
        kind = "Contractor" if p["id"] == "tom.alvarez" else EMPLOYEE_TYPE[p["employment"]]
        out.users.append(user(entra_id(p["id"]), p["email"], p.get("name", p["id"]), mail=p["email"],
                              usage_location=p["location"], employee_type=kind,
                              enabled=p.get("status") != "departed" and p["id"] != "felix.wagner"))
    guest = entra_id("guest:jonas.berger")
    out.users.append(user(guest, "jonas.berger_partner.example.de#EXT#@example.onmicrosoft.com", "Jonas Berger",
                          mail="jonas.berger@partner.example.de", usage_location="DE", employee_type="Employee",
                          guest=True))
    everyone = entra_id("group:all-company")
    out.groups = [group(WORKS_COUNCIL, "Betriebsrat", team=True, mail="betriebsrat@example.com"),
                  group(everyone, "All Company", mail="allcompany@example.com")]
    out.owners = {WORKS_COUNCIL: [entra_id("lena.hoffmann")], everyone: [entra_id("ana.ruiz")]}
    out.members = {WORKS_COUNCIL: [entra_id(p) for p in ("lena.hoffmann", "felix.wagner", "camille.durand")] + [guest],
                   everyone: [entra_id(p) for p in ("ana.ruiz", "mei.chen", "lena.hoffmann", "tom.alvarez")]}
    return out


def snapshot() -> Snapshot:
    with tempfile.TemporaryDirectory() as folder, FakeMicrosoft(tenant(), Path(folder)) as fake:
        made = connector("microsoft").read(ConnectorSettings(fake.environ(), api_url=fake.graph_url))
    return dataclasses.replace(made, taken_at=TAKEN_AT, source={"tenant": "example.onmicrosoft.com",
                                                                "checker": "example"})


if __name__ == "__main__":
    write(snapshot(), Path(sys.argv[1]))
