"""A function argument used as a key inside a comprehension: regopy answers it wrong, checker refuses it."""

from __future__ import annotations

import json

import pytest

from checker.engines.embedded_pitfalls import argument_key_problems

DATA = {"js": {"a": [1, 2], "b": [3]}}
WRONG = {  # function -> the module line; rego-cpp treats `j` as unbound inside the comprehension
    "in_set": "f(j) := {x | some x in data.js[j]}",
    "in_array": "f(j) := [x | some x in data.js[j]]",
    "in_body": "f(j) := s if {\n\ts := {x | some x in data.js[j]}\n}",
    "compared": "f(j) := {x | some x in data.js.a; x == data.js[j][0]}",
    "indexed_further": "f(j) := {x | x := data.js[j][0]}",
    "second_argument": "f(i, j) := {x | some x in data.js[j]; x != i}",
}
RIGHT = {  # the same question asked in shapes rego-cpp answers right: never refused
    "rebound": "f(j) := s if {\n\tk := j\n\ts := {x | some x in data.js[k]}\n}",
    "no_comprehension": "f(j) := data.js[j]",
    "field_of_argument": 'f(p) := {x | some x in data.js[p.id]}',
    "array_literal": "f(j) := [y | some y in [j]]",
    "rule_local": 'r contains s if {\n\tsome j in ["a"]\n\ts := {x | some x in data.js[j]}\n}',
    "every": "f(j) if {\n\tevery x in data.js[j] {\n\t\tx < 3\n\t}\n}",
}


def _module(rule: str) -> str:
    return f"package m\n\nimport rego.v1\n\n{rule}\n"


@pytest.mark.parametrize("name", sorted(WRONG))
def test_the_shape_is_refused_naming_its_line(name: str) -> None:
    source = _module(WRONG[name])
    [(line, argument, message)] = argument_key_problems(source)
    assert argument == "j" and "--engine opa" in message
    assert f"data.js[{argument}]" in source.splitlines()[line - 1]


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_shapes_the_engine_answers_right_are_not_refused(name: str) -> None:
    assert argument_key_problems(_module(RIGHT[name])) == []


def _regopy_answer(rule: str, query: str) -> object:
    from regopy import Interpreter

    interp = Interpreter()
    interp.add_module("m.rego", _module(rule))
    interp.add_data_json(json.dumps(DATA))
    return json.loads(str(interp.query(f"x := {query}")))["bindings"]["x"]


def test_regopy_still_answers_the_refused_shape_wrong() -> None:
    """Why the refusal exists; when a regopy upgrade makes this fail, the refusal can go."""
    assert _regopy_answer(WRONG["in_set"], 'data.m.f("a")') == [1, 2, 3]  # OPA: {1, 2}
    assert _regopy_answer(RIGHT["rebound"], 'data.m.f("a")') == [1, 2]
