"""The example org's Microsoft 365 snapshot: made by the real connector against the fake tenant of
testing/fake_microsoft_example.py, and `audit --observed` on it reports exactly the drift built into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.snapshot import dumps
from testing.fake_microsoft_example import entra_id, snapshot
from tests.conftest import ROOT
from tests.platforms.aliases import canonical_inventory
from tests.test_observed import audit, expected

pytest.importorskip("msgraph")
FILE = "examples/snapshots/microsoft.json"


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
    assert {(f[0], f[3]) for f in person_scope} == {("sensitive-reach", "dana.kowalski")}  # 13 groups, as declared
    drift = {(f["rule"], f["group"], f["person"]) for f in doc["findings"] if f["rule"].startswith("drift-")}
    assert drift == {
        ("drift-unreviewed-member", "teams-de-works-council", "camille.durand"),
        ("drift-unknown-account", "teams-de-works-council", f"microsoft:{entra_id('guest:jonas.berger')}"),
        ("drift-person-attribute", None, "felix.wagner"),  # accountEnabled false
        ("drift-person-attribute", None, "tom.alvarez"),  # employeeType Contractor
        ("drift-unmanaged-group", f"microsoft:{entra_id('group:all-company')}", None),
    }
    guest = next(p for p in doc["observed"] if p["platform"] == "microsoft")
    assert guest["file"] == FILE
