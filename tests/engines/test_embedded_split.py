"""Big groups on the embedded engine: split across workers by rule family, with exactly the answer
of one query, and a statement budget that grows with the input (rego-cpp's fixed one failed groups
of ~25,000 members)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker import pipeline, policies
from checker.engines import EngineOptions, family_queries
from checker.engines.embedded import EmbeddedEngine, Evaluator
from checker.engines.embedded_input import limit_setter, statement_limit
from checker.engines.embedded_split import balanced, merged, probe_document
from checker.errors import EngineError
from checker.evaluate import inputs_for
from checker.policies import from_files
from testing.orggen import generate_org

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-29"


def person(n: int) -> dict[str, Any]:
    kinds = [("US", "employee", "active", {"privacy": "2026-06-01"}), ("CN", "contractor", "departed", {}),
             ("DE", "vendor", None, {"privacy": "2024-01-01"}), ("US", "employee", "active", {})]
    location, employment, status, trainings = kinds[n % len(kinds)]
    return {"id": f"p{n:05d}", "location": location, "employment": employment, "status": status,
            "trainings": trainings}


def group(key: str, size: int, classes: list[str], kind: str = "channel") -> tuple[str, dict[str, Any]]:
    owner = person(0)
    return key, {"as_of": AS_OF, "group": {"id": key, "platform": "slack", "kind": kind, "data_classes": classes,
                                           "subject_jurisdictions": ["US"], "description": "split test",
                                           "owner": owner, "members": [owner] + [person(n) for n in range(1, size)]}}


@pytest.fixture(scope="module")
def shipped() -> policies.PolicySet:
    return policies.load_dir(REPO / "policies")


def evaluate(policy_set: policies.PolicySet, inputs: list[tuple[str, dict[str, Any]]], jobs: int,
             split_members: int) -> dict[str, Any]:
    engine = EmbeddedEngine(policy_set, EngineOptions(jobs=jobs), split_members=split_members)
    try:
        assert all(engine._splits(document, "group") == (jobs > 1 and len(document["group"]["members"])
                                                         >= split_members) for _key, document in inputs)
        return engine.evaluate(inputs)
    finally:
        engine.close()


def test_split_groups_give_exactly_the_unsplit_answer(shipped: policies.PolicySet) -> None:
    inputs = [group("big-sensitive", 300, ["user_pii", "government_id"]), group("big-plain", 240, []),
              group("chat", 90, ["user_pii"], kind="chat"), group("small", 3, [])]
    whole = evaluate(shipped, inputs, jobs=1, split_members=1)
    split = evaluate(shipped, inputs, jobs=2, split_members=50)
    assert split == whole
    assert [list(split[key]) for key in split] == [list(whole[key]) for key in split]  # same family order
    findings = sum(len(elements) for levels in split["big-sensitive"].values() for elements in levels.values())
    assert findings > 600, "the big group should break member rules for most members"


def test_every_group_of_a_generated_org_split_gives_the_unsplit_answer(shipped: policies.PolicySet,
                                                                       tmp_path: Path) -> None:
    generate_org(tmp_path, 60, seed=3)
    inputs = inputs_for(pipeline.load_inventory(tmp_path, shipped, "inventories"), AS_OF)
    assert len(inputs) >= 40
    assert evaluate(shipped, inputs, jobs=2, split_members=1) == evaluate(shipped, inputs, jobs=1, split_members=1)


FAMILIES = {
    "p/ok.rego": b'package access.fine\n\nimport rego.v1\n\n'
                 b'deny contains m.id if {\n\tsome m in input.group.members\n\tm.id != "p00000"\n}\n',
    "p/bad.rego": b'package access.broken\n\nimport rego.v1\n\n'
                  b'deny contains n if {\n\tsome m in input.group.members\n\tm.id != "p00000"\n'
                  b'\tn := to_number(m.id)\n}\n',
    "p/third.rego": b'package access.third\n\nimport rego.v1\n\n'
                    b'warn contains "many" if count(input.group.members) > 10\n',
}


def test_a_failing_family_fails_the_whole_split_group() -> None:
    policy_set = from_files(FAMILIES)
    inputs = [group("big", 40, []), group("tiny", 1, [])]
    for jobs in (1, 2):
        with pytest.raises(EngineError) as raised:
            evaluate(policy_set, inputs, jobs=jobs, split_members=10)
        shown = str(raised.value)
        assert "group big" in shown and "group tiny" not in shown
        assert "invalid syntax" in shown  # to_number("p00001")


def test_families_are_dealt_heaviest_first_to_the_lightest_part() -> None:
    costs = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 0.1}
    parts = balanced(costs, ["a", "b", "c", "d", "e", "unmeasured"], 2)
    assert parts == [["a", "d", "e"], ["b", "c", "unmeasured"]]
    assert balanced(costs, ["a", "b"], 8) == [["a"], ["b"]]
    assert balanced({}, ["a"], 1) == [["a"]]


def test_merged_parts_are_one_answer_and_a_family_twice_is_an_error() -> None:
    assert list(merged([{"z": {"deny": []}}, {"a": {"warn": [1]}}])) == ["a", "z"]
    with pytest.raises(ValueError, match="two parts"):
        merged([{"a": {"deny": []}}, {"a": {"deny": []}}])


def test_the_probe_keeps_the_first_members_and_the_rest_of_the_input() -> None:
    _key, document = group("g", 500, ["user_pii"])
    probe = probe_document(document)
    assert len(probe["group"]["members"]) == 128 and probe["group"]["members"][0] == document["group"]["members"][0]
    assert probe["as_of"] == AS_OF and probe["group"]["data_classes"] == ["user_pii"]
    assert len(document["group"]["members"]) == 500


# ------------------------------------------------------------------ the statement budget

PER_MEMBER = b'package access.each\n\nimport rego.v1\n\ndeny contains m.id if {\n\tsome m in input.group.members\n}\n'
PAIRS = (b'package access.pairs\n\nimport rego.v1\n\n'
         b'deny contains [a.id, b.id] if {\n\tsome a in input.group.members\n\tsome b in input.group.members\n'
         b'\ta.id < b.id\n\ta.id == "never"\n}\n')


class SmallBudget(Evaluator):
    base_statements = 2_000  # what rego-cpp allows any input, scaled down so a test runs in a second


def small_budget_evaluator(module: bytes) -> SmallBudget:
    policy_set = from_files({"p/m.rego": module})
    from checker.engines import entry_query
    from checker.engines.embedded_arrays import ArrayPlan

    plan = ArrayPlan(tuple((m.path, m.source) for m in policy_set.modules), policy_set.rules)
    return SmallBudget(plan.modules, {}, {"group": entry_query(policy_set, "group", plan.level_ref)},
                       {"group": family_queries(policy_set, "group", plan.level_ref)})


def members(count: int) -> dict[str, Any]:
    return {"as_of": AS_OF, "group": {"id": "g", "members": [{"id": f"m{n:05d}"} for n in range(count)]}}


def test_the_statement_limit_is_set_on_the_interpreter() -> None:
    from regopy import Interpreter

    interp = Interpreter()
    set_limit = limit_setter(interp)
    assert set_limit is not None, "regopy 1.5.2's rego::Interpreter::stmt_limit should be reachable"
    bundle = interp.build("x := count([n | some n in numbers.range(1, 1000)])", [])
    set_limit(100)
    assert not interp.query_bundle(bundle).ok()
    set_limit(statement_limit(0))
    assert "1000" in str(interp.query_bundle(bundle))


def test_work_linear_in_the_group_fits_a_budget_that_grows_with_the_input() -> None:
    evaluator = small_budget_evaluator(PER_MEMBER)
    result = evaluator.evaluate(members(3_000))  # thousands of statements, far over the base of 2,000
    assert len(result["each"]["deny"]) == 3_000


def test_work_quadratic_in_the_group_ends_at_the_budget_with_a_clear_message() -> None:
    evaluator = small_budget_evaluator(PAIRS)
    assert evaluator.evaluate(members(20)) == {"pairs": {"deny": []}}
    with pytest.raises(EngineError, match=r"limit of .* evaluation steps .* --engine opa"):
        evaluator.evaluate(members(600))
