"""The embedded engine reads deny/warn rules as arrays (rego-cpp builds sets in quadratic time)."""

from __future__ import annotations

from pathlib import Path

from checker import policies
from checker.engines import EngineOptions, entry_query, make_engine
from checker.engines.embedded_arrays import ArrayPlan, deduplicated, rewrite

ROOT = Path(__file__).resolve().parents[2]

MODULE = """package access.sample

import rego.v1

deny contains {"msg": msg, "person": p.id} if {
\tsome p in input.group.members
\tmsg := sprintf("member %s", [p.id])
}

warn contains "single line" if true

warn contains msg if {
\tmsg := "in a body"
} else := "x"
"""


def test_rules_become_arrays_on_the_same_lines() -> None:
    new, arrays, unsupported = rewrite(MODULE, "access.sample", ["deny", "warn"])
    assert arrays == {"deny": ["__checker_deny_5"]}
    assert unsupported == {"warn"}  # shapes it does not handle keep the set
    old_lines, new_lines = MODULE.splitlines(), new.splitlines()
    assert new_lines[4].startswith("__checker_deny_5 := [ {\"msg\": msg")
    assert new_lines[7] == "]"
    assert new_lines[5:7] == old_lines[5:7]
    assert new_lines[8:len(old_lines)] == old_lines[8:]
    assert "deny contains __checker_x if {" in new  # the set stays defined for other readers


def test_a_family_with_an_unhandled_shape_reads_its_set() -> None:
    plan = ArrayPlan((("sample.rego", MODULE),), {})
    assert plan.level_ref("access.sample", "warn") == "data.access.sample.warn"


def test_duplicates_are_dropped_as_a_set_would() -> None:
    result = {"r": {"deny": [{"msg": "a", "person": "x"}, {"person": "x", "msg": "a"}, "b", "b"], "warn": []}}
    assert deduplicated(result) == {"r": {"deny": [{"msg": "a", "person": "x"}, "b"], "warn": []}}


def test_the_shipped_pack_is_read_as_arrays_and_answers_as_before() -> None:
    policy_set = policies.load_dir(ROOT / "policies")
    plan = ArrayPlan(tuple((m.path, m.source) for m in policy_set.modules), policy_set.rules)
    query = entry_query(policy_set, "group", plan.level_ref)
    assert ".deny}" not in query and ".warn}" not in query and "__checker_" in query
    owner = {"id": "o", "location": "US", "employment": "employee", "status": "active", "trainings": {}}
    members = [owner] + [{"id": f"p{i}", "location": "CN", "employment": "vendor", "status": "departed",
                          "trainings": {}} for i in range(3)]
    document = {"as_of": "2026-11-29", "group": {
        "id": "g", "platform": "slack", "kind": "channel", "data_classes": ["government_id"],
        "subject_jurisdictions": ["US"], "owner": owner, "members": members}}
    engine = make_engine("embedded", policy_set, EngineOptions())
    try:
        raw = engine.evaluate([("g", document)])["g"]
    finally:
        engine.close()
    assert sorted(e["person"] for e in raw["departed-member"]["deny"]) == ["p0", "p1", "p2"]
    assert sorted(e["person"] for e in raw["non-employee-access"]["deny"]) == ["p0", "p1", "p2"]
