"""The example org's Google Workspace, drifted from what inventories/ declares, for examples/snapshots/google.json.

    python3 -m testing.fake_google_example examples/snapshots/google.json

writes the snapshot by running the real connector (google-api-python-client, google-auth) against
testing/fake_google.py holding this tenant, so the example is what `checker snapshot` produces.
Drift, by SPEC §8 rule:
- drift-unreviewed-member: li.wei is in dpo@; mei.chen and ana.ruiz (its OWNER) reach ncmec-reports@
  through the nested trust-safety-leads@ group.
- drift-unknown-account: an EXTERNAL member of ncmec-reports@; everyone in the domain (CUSTOMER) in all-staff@.
- drift-owner: hannah.cole is the OWNER of online-safety@ (the inventory says james.whitfield).
- drift-stale-member: dana.kowalski left ncmec-reports@.
- drift-person-attribute: conor.byrne is suspended (departed) on Google; siobhan.kelly's work address is in GB.
- drift-unmanaged-group: all-staff@ and trust-safety-leads@ are in no inventory.
- drift-missing-group: privacy-incident@ was deleted on Google.
People match by email, except dana.kowalski (no email in the inventory), matched by `accounts.google`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from checker.platforms import ConnectorSettings, connector
from checker.snapshot import Snapshot, write
from testing.fake_google import GoogleTenant, group, member, serve, user

ROOT = Path(__file__).resolve().parent.parent
TAKEN_AT = "2026-11-29T06:00:00Z"
EMPLOYEE_TYPE = {"employee": "Full-time", "contractor": "Contractor", "vendor": "Vendor"}
# Groups as Google holds them: email -> (name, OWNER, other members); "@group" is a nested group.
GROUPS: dict[str, tuple[str, str, list[str]]] = {
    "dpo@example.com": ("Data Protection Officer", "aoife.murphy",
                        ["conor.byrne", "lena.hoffmann", "camille.durand", "niamh.walsh", "dana.kowalski", "li.wei"]),
    "online-safety@example.com": ("GB Online Safety", "hannah.cole",
                                  ["james.whitfield", "siobhan.kelly", "dana.kowalski"]),
    "ncmec-reports@example.com": ("NCMEC reports", "nora.hughes",
                                  ["rachel.stein", "grace.liu", "@trust-safety-leads@example.com",
                                   "!pat.moreau@partner.example.org"]),
    "trust-safety-leads@example.com": ("Trust and Safety leads", "ana.ruiz", ["rachel.stein", "mei.chen"]),
    "all-staff@example.com": ("All staff", "ana.ruiz", ["*"]),
}
CUSTOMER_ID = "C01x8m3ex"


def google_id(*parts: str) -> str:
    """A 21-digit Google-style id, stable for the same name."""
    return "1" + str(int(hashlib.sha256(":".join(("google", *parts)).encode()).hexdigest(), 16))[:20]


def inventory_people() -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = []
    for path in sorted((ROOT / "inventories" / "people").glob("*.yaml")):
        people.extend(yaml.safe_load(path.read_text("utf-8"))["people"])
    return people


def tenant() -> GoogleTenant:
    out = GoogleTenant(customer_id=CUSTOMER_ID)
    emails: dict[str, str] = {}
    for p in inventory_people():
        email = p.get("email") or f"{p['id']}@example.com"  # Google has an address for everyone
        emails[p["id"]] = email
        country = "GB" if p["id"] == "siobhan.kelly" else p["location"]
        out.users.append(user(google_id(p["id"]), email, p.get("name", p["id"]), country=country,
                              employee_type=EMPLOYEE_TYPE[p["employment"]],
                              suspended=p.get("status") == "departed" or p["id"] == "conor.byrne"))
    for email, (name, owner, members) in GROUPS.items():
        gid = google_id("group", email)
        out.groups.append(group(gid, email, name))
        listed = [member(google_id(owner), emails[owner], role="OWNER")]
        for m in members:
            if m == "*":
                listed.append(member(CUSTOMER_ID, None, kind="CUSTOMER"))
            elif m.startswith("@"):
                listed.append(member(google_id("group", m[1:]), m[1:], kind="GROUP"))
            elif m.startswith("!"):
                listed.append(member(google_id("external", m[1:]), m[1:], kind="EXTERNAL"))
            else:
                listed.append(member(google_id(m), emails[m]))
        out.members[gid] = listed
    return out


def snapshot() -> Snapshot:
    example = tenant()
    with serve(example) as fake, tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "key.json"
        key.write_text(json.dumps(example.service_account_info(fake.token_uri)))
        made = connector("google").read(ConnectorSettings({"GOOGLE_APPLICATION_CREDENTIALS": str(key)},
                                                          api_url=fake.url, subject=example.admin))
    return dataclasses.replace(made, taken_at=TAKEN_AT, source={"tenant": "example.com", "checker": "example"})


if __name__ == "__main__":
    write(snapshot(), Path(sys.argv[1]))
