"""The embedded engine against OPA's own evaluator: the same raw results, messages included.

Real OPA runs in-process through testing/real_opa.py when its bindings are installed (.ci/run
installs them); GitHub CI also runs the `opa` binary through --engine opa.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from checker import cases, evaluate, pipeline, policies
from checker.engines import EngineOptions, PolicyEngine, make_engine
from testing import real_opa
from testing.orggen import generate_org
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)

POLICY_SET = policies.load_dir(ROOT / "policies", "policies")


def normalised(raw: dict) -> dict:
    """Sets come back as lists from both engines; order is not part of a set."""
    return {rule: {level: sorted(map(repr, elements)) for level, elements in levels.items()}
            for rule, levels in raw.items()}


@pytest.fixture(scope="module")
def embedded() -> Iterator[PolicyEngine]:
    engine = make_engine("embedded", POLICY_SET, EngineOptions(jobs=2))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def opa() -> Iterator[real_opa.RealOpa]:
    engine = real_opa.RealOpa(POLICY_SET)
    yield engine
    engine.close()


def compare(embedded: PolicyEngine, opa: real_opa.RealOpa, inputs: list) -> None:
    mine, theirs = embedded.evaluate(inputs), opa.evaluate(inputs)
    assert mine.keys() == theirs.keys()
    differing = [key for key in mine if normalised(mine[key]) != normalised(theirs[key])]
    assert not differing, f"{len(differing)} inputs differ, e.g. {differing[0]}: " \
                          f"{mine[differing[0]]} != {theirs[differing[0]]}"


@pytest.mark.parametrize("as_of", ["2026-11-29", "2027-03-01", "2028-02-29"])
def test_example_org(embedded: PolicyEngine, opa: real_opa.RealOpa, as_of: str) -> None:
    inv = pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")
    compare(embedded, opa, evaluate.inputs_for(inv, as_of))


@pytest.mark.parametrize("seed", [3, 4])
def test_generated_org_of_1000_groups(tmp_path: Path, embedded: PolicyEngine, opa: real_opa.RealOpa,
                                      seed: int) -> None:
    generate_org(tmp_path, groups=1000, seed=seed)
    inv = pipeline.load_inventory(tmp_path, POLICY_SET, "org")
    compare(embedded, opa, evaluate.inputs_for(inv, "2026-11-29"))


def test_table_cases_pass_on_real_opa(opa: real_opa.RealOpa) -> None:
    all_cases = [c for p in POLICY_SET.case_files for c in cases.load(p, POLICY_SET.case_sources[p], POLICY_SET.rules)]
    raw = {}
    for scope in sorted({case.scope for case in all_cases}):
        raw.update(opa.evaluate([(c.key, c.input()) for c in all_cases if c.scope == scope], scope))
    failed = [(c.rule, c.name, cases.outcome(c, raw[c.key]).explain()) for c in all_cases
              if not cases.outcome(c, raw[c.key]).passed]
    assert not failed


def test_rego_unit_tests_pass_on_real_opa() -> None:
    engine = real_opa.RealOpa(POLICY_SET, with_tests=True)
    try:
        outcomes = engine.test_rules()
    finally:
        engine.close()
    assert len(outcomes) >= 60
    assert [name for name, passed in outcomes if not passed] == []


def test_groups_split_across_workers_give_opas_answer(tmp_path: Path, opa: real_opa.RealOpa) -> None:
    """Big groups are evaluated one part per worker, by rule family (embedded_split); here the
    threshold is lowered so most groups split, and one group holds every person of the org."""
    from checker.engines.embedded import EmbeddedEngine

    generate_org(tmp_path, groups=300, seed=5)
    inputs = evaluate.inputs_for(pipeline.load_inventory(tmp_path, POLICY_SET, "org"), "2026-11-29")
    everyone = {m["id"]: m for _key, document in inputs for m in document["group"]["members"]}
    first = inputs[0][1]
    inputs.append(("everyone", {**first, "group": {**first["group"], "id": "everyone",
                                                   "members": sorted(everyone.values(), key=lambda m: m["id"])}}))
    engine = EmbeddedEngine(POLICY_SET, EngineOptions(jobs=2), split_members=8)
    try:
        assert sum(engine._splits(document, "group") for _key, document in inputs) > 50
        compare(engine, opa, inputs)
    finally:
        engine.close()
