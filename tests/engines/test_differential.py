"""Differential test: the embedded engine and real OPA report identical findings.

Runs the shipped example organisation and synthetic ones (testing.orggen) through the whole
pipeline (load, join, evaluate, waive) on both engines and compares the findings field by field:
rule, level, group, person, message, location, waiver. Needs the `opa` binary on PATH; without
it every test here skips and says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checker import pipeline
from checker.engines import EngineOptions, make_engine
from checker.engines.opa.process import LocalOpa, find_opa
from checker.models import Finding
from checker.policies import PolicySet

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-29"  # testing.orggen dates are relative to this day

pytestmark = pytest.mark.skipif(find_opa() is None,
                                reason="differential test needs the `opa` binary on PATH (install OPA to run)")


def findings_on(engine_name: str, policy_set: PolicySet, inventory_dir: Path, options: EngineOptions
                ) -> list[Finding]:
    inventory = pipeline.load_inventory(inventory_dir, policy_set, "inventories")
    engine = make_engine(engine_name, policy_set, options)
    try:
        return sorted(pipeline.findings(engine, inventory, AS_OF, policy_set.rules), key=lambda f: f.sort_key)
    finally:
        engine.close()


def assert_same(embedded: list[Finding], opa: list[Finding]) -> None:
    only_embedded = [f for f in embedded if f not in opa]
    only_opa = [f for f in opa if f not in embedded]
    assert not only_embedded and not only_opa, (
        f"{len(only_embedded)} finding(s) only on embedded, e.g. {only_embedded[:3]}; "
        f"{len(only_opa)} only on OPA, e.g. {only_opa[:3]}")
    assert len(embedded) == len(opa)


@pytest.fixture(scope="module")
def policy_set() -> PolicySet:
    return pipeline.load_policies(REPO / "policies", "policies")


def test_example_org_same_findings(policy_set: PolicySet) -> None:
    embedded = findings_on("embedded", policy_set, REPO / "inventories", EngineOptions(jobs=2))
    opa = findings_on("opa", policy_set, REPO / "inventories", EngineOptions(jobs=2))
    assert embedded, "the example org should have findings"
    assert_same(embedded, opa)


@pytest.mark.parametrize(("groups", "seed"), [(40, 0), (120, 1), (400, 7)])
def test_generated_orgs_same_findings(policy_set: PolicySet, tmp_path: Path, groups: int, seed: int) -> None:
    from testing.orggen import generate_org

    generate_org(tmp_path, groups, seed)
    embedded = findings_on("embedded", policy_set, tmp_path, EngineOptions(jobs=2))
    opa = findings_on("opa", policy_set, tmp_path, EngineOptions(jobs=2))
    assert_same(embedded, opa)


def test_two_servers_same_findings(policy_set: PolicySet, tmp_path: Path) -> None:
    """Scale-out: batches spread over two servers give the same answer as one engine in-process."""
    from testing.orggen import generate_org

    generate_org(tmp_path, 600, seed=3)  # several batches
    binary = find_opa()
    assert binary is not None
    first, second = LocalOpa.start(binary), LocalOpa.start(binary)
    try:
        opa = findings_on("opa", policy_set, tmp_path, EngineOptions(jobs=2, opa_urls=(first.url, second.url)))
    finally:
        first.stop()
        second.stop()
    embedded = findings_on("embedded", policy_set, tmp_path, EngineOptions(jobs=2))
    assert_same(embedded, opa)
