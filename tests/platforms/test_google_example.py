"""The example org's Google snapshot: made by the real connector against the fake tenant of
testing/fake_google_example.py, and `audit --observed` on it reports exactly the drift built into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.snapshot import dumps
from testing.fake_google_example import google_id, snapshot
from tests.conftest import ROOT
from tests.platforms.aliases import canonical_inventory
from tests.test_observed import audit, expected

pytest.importorskip("googleapiclient")
FILE = "examples/snapshots/google.json"


def test_the_example_is_what_the_connector_writes() -> None:
    assert dumps(snapshot()) == (ROOT / FILE).read_text("utf-8")


def test_audit_observed_reports_the_drift_exactly(tmp_path: Path) -> None:
    code, doc = audit("--observed", FILE)
    assert code == 1
    got = {(f["rule"], f["level"], f["group"], f["person"], f["waived"]) for f in doc["findings"]}
    assert len(got) == len(doc["findings"])
    # group-scope policies and drift, read independently (tests/test_observed.py leaves person scope out)
    person_scope = {f for f in got if f[2] is None and f[0] != "drift-person-attribute"}
    assert got - person_scope == expected(canonical_inventory(tmp_path), ROOT / FILE)
    # dana.kowalski left ncmec-reports@: 12 sensitive groups on the platform, no longer over the 12 allowed
    assert {(f[0], f[3]) for f in person_scope} == set()
    drift = {(f["rule"], f["group"], f["person"]) for f in doc["findings"] if f["rule"].startswith("drift-")}
    outsider = f"google:{google_id('external', 'pat.moreau@partner.example.org')}"
    assert drift == {
        ("drift-unreviewed-member", "gg-eu-dpo-office", "li.wei"),
        ("drift-unreviewed-member", "gg-us-ncmec-reports", "mei.chen"),  # through the nested leads group
        ("drift-unreviewed-member", "gg-us-ncmec-reports", "ana.ruiz"),  # the nested group's OWNER
        ("drift-unknown-account", "gg-us-ncmec-reports", outsider),  # an EXTERNAL member
        ("drift-owner", "gg-gb-online-safety", "hannah.cole"),
        ("drift-stale-member", "gg-us-ncmec-reports", "dana.kowalski"),  # matched by accounts.google
        ("drift-person-attribute", None, "conor.byrne"),  # suspended
        ("drift-person-attribute", None, "siobhan.kelly"),  # work address in GB
        ("drift-unmanaged-group", "google:all-staff@example.com", None),
        ("drift-unmanaged-group", "google:trust-safety-leads@example.com", None),
        ("drift-missing-group", "gg-privacy-incident-response", None),
    }
    # the outside member fails every rule that asks something of a person
    assert {f["rule"] for f in doc["findings"] if f["person"] == outsider} == {
        "drift-unknown-account", "member-location", "non-employee-access", "training-expired", "departed-member"}
