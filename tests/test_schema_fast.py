"""The compiled schema check (fastjsonschema) must answer exactly as jsonschema does.

It decides alone only when it accepts a file, so an acceptance jsonschema would refuse would let a
bad file through: every field of every record kind is mutated into values of every odd kind, and
both validators must agree on each mutation (and on the shipped example inventory).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from checker import schema
from checker.inventory_files import read_tree
from checker.yamlload import parse

ROOT = Path(__file__).resolve().parent.parent

PERSON = {"id": "ana.lee", "name": "Ana Lee", "location": "DE", "employment": "employee", "status": "active",
          "trainings": {"privacy": "2026-01-02"}, "email": "ana@example.com", "accounts": {"slack": "U123"}}
GROUP = {"id": "lark-eu-1", "platform": "lark", "kind": "chat", "owner": "ana.lee", "members": ["ana.lee", "bo.kim"],
         "data_classes": ["user_pii"], "subject_jurisdictions": ["EU"], "description": "a chat",
         "reviewed": {"on": "2026-01-02", "by": "ana.lee"}, "external_id": "oc_1"}
WAIVER = {"id": "w-1", "rule": "member-location", "group": "lark-eu-1", "person": "bo.kim", "reason": "because",
          "approved_by": "ana.lee", "expires": "2027-01-01"}

ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, 1.5, "", " ", "x\n", "\n", "UPPER", "a b", "é", "a" * 200, "2026-02-30", "2026-1-1",
    "2026-01-02\n", "1899-12-31", dt.date(2026, 1, 2), [], {}, ["a", "a"], ["a", "b"], [1], [None], [True, 1],
    [[]], [{}], {"": "x"}, {"x": ""}, {"x": 1}, {"privacy": "2026-13-01"}, {"on": "2026-01-02"},
    {"on": "2026-01-02", "by": "ana.lee", "extra": 1}, "DE", "chat", "employee", "departed", "ana@example.com",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a record: keys, list positions, nested ones."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((*prefix, index))
            found += _paths(inner, (*prefix, index))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        doc = doc[part]
    del doc[path[-1]]


def _mutations() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    for section, record in (("people", PERSON), ("groups", GROUP), ("waivers", WAIVER)):
        base = {section: [record]}
        cases.append((f"{section} as written", base))
        for path in _paths(record):
            where = (section, 0, *path)
            for n, odd in enumerate(ODD_VALUES):
                doc = copy.deepcopy(base)
                _set(doc, where, copy.deepcopy(odd))
                cases.append((f"{'.'.join(map(str, where))}={n}", doc))
            doc = copy.deepcopy(base)
            _delete(doc, where)
            cases.append((f"{'.'.join(map(str, where))} deleted", doc))
        for odd in ODD_VALUES:
            cases.append((f"{section} is {odd!r}", {section: copy.deepcopy(odd)}))
            cases.append((f"{section}[0] is {odd!r}", {section: [copy.deepcopy(odd)]}))
        cases.append((f"{section} record with an unknown field", {section: [{**record, "unknown": 1}]}))
    cases += [("unknown top-level key", {"people": [], "extra": []}), ("empty mapping", {}),
              ("not a mapping", ["people"]), ("every section", {"people": [PERSON], "groups": [GROUP],
                                                                "waivers": [WAIVER]})]
    return cases


MUTATIONS = _mutations()


def test_the_shipped_schema_is_compiled() -> None:
    assert schema.inventory_check() is not None


def test_the_compiled_check_agrees_with_jsonschema() -> None:
    disagreements = [name for name, doc in MUTATIONS
                     if schema.is_valid_inventory(doc) != schema.inventory_validator().is_valid(doc)]
    assert not disagreements


def test_mutations_reach_both_answers() -> None:
    answers = [schema.inventory_validator().is_valid(doc) for _, doc in MUTATIONS]
    assert answers.count(True) > 20 and answers.count(False) > 500


def test_the_example_inventory_is_judged_alike() -> None:
    sources, problems = read_tree(ROOT / "examples" / "inventory-repo" / "inventories")
    assert sources and not problems
    for source in sources:
        doc = parse(source.data.decode())
        assert doc is not None
        assert schema.is_valid_inventory(doc.value) == schema.inventory_validator().is_valid(doc.value), source.path


def test_a_keyword_it_does_not_know_leaves_jsonschema_to_judge() -> None:
    assert "prefixItems" in schema._keywords({"type": "array", "prefixItems": [{"type": "string"}]})
    assert "prefixItems" not in schema._keywords({"properties": {"prefixItems": {"type": "string"}}})
    assert "items as a list" in schema._keywords({"items": [{"type": "string"}]})
    assert schema._keywords(schema.inventory_validator().schema) <= schema._SAME_IN_DRAFT_7
