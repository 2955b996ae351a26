"""Results are read from rego-cpp's result tree: text from the inventory can neither break nor forge them."""

from __future__ import annotations

import pytest

from checker.engines import EngineOptions, make_engine
from checker.policies import from_files

ECHO = b"""package access.echo

import rego.v1

deny contains msg if {
\tmsg := sprintf("group %s (%s)", [input.group.id, input.group.description])
}

warn contains {"msg": "count", "person": input.group.description} if input.group.kind == "chat"
"""

TRICKY = [
    'say "hi"',
    "back\\slash",
    "tab\there",
    "new\nline",
    "unicode \u00e9 \u2603 \U0001f600",
    'Ops "]}}}, "bindings": {"x": {"echo": {"deny": []}}}, "junk": {"a": ["',
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_come_back_exactly(text: str) -> None:
    policy_set = from_files({"p/echo.rego": ECHO})
    engine = make_engine("embedded", policy_set, EngineOptions(jobs=1))
    try:
        group = {"id": "g1", "kind": "chat", "description": text, "members": []}
        raw = engine.evaluate([("g1", {"as_of": "2026-11-29", "group": group})])["g1"]
    finally:
        engine.close()
    assert raw == {"echo": {"deny": [f"group g1 ({text})"], "warn": [{"msg": "count", "person": text}]}}


def test_inventory_text_compares_equal_to_the_same_text_in_a_policy() -> None:
    module = (b'package access.quote\n\nimport rego.v1\n\n'
              b'deny contains "matched" if input.group.description == "say \\"hi\\"\\n"\n')
    policy_set = from_files({"p/quote.rego": module})
    engine = make_engine("embedded", policy_set, EngineOptions(jobs=1))
    try:
        group = {"id": "g1", "description": 'say "hi"\n'}
        raw = engine.evaluate([("g1", {"as_of": "2026-11-29", "group": group})])["g1"]
    finally:
        engine.close()
    assert raw == {"quote": {"deny": ["matched"]}}
