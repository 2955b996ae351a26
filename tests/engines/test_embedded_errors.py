"""Policies the embedded engine cannot run the way OPA does: exit 2 naming file and line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.engines import EngineOptions, LazyEngine, make_engine
from checker.engines.embedded_errors import NO_LOCATION, compile_problems, locate
from checker.errors import EngineError, PolicyError
from checker.policies import from_files
from testing import real_opa
from testing.gitorg import INVENTORY, POLICIES
from tests.conftest import run_checker

HEADER = "package access.x\n\nimport rego.v1\n\n"
OPA_ONLY = {  # compile and run on OPA; the embedded engine fails or answers differently
    "big-number": (HEADER + 'deny contains "m" if {\n\tcount(input.group.members) < 1e400\n}\n', 6, "1e400"),
    "unicode-escape": (HEADER + 'deny contains "m" if {\n\tinput.group.description == "caf\\u00e9"\n}\n', 6,
                       "\\u00e9"),
    "slash-escape": (HEADER + 'deny contains "m" if {\n\tinput.group.description == "a\\/b"\n}\n', 6, "\\/"),
    "argument-key": (HEADER + 'values(k) := [v | some v in input.group[k]]\n\n'
                     'deny contains "m" if {\n\tcount(values("members")) > 5\n}\n', 5, "argument k"),
}


@pytest.mark.parametrize("name", sorted(OPA_ONLY))
def test_what_only_opa_reads_is_refused_with_file_and_line(name: str) -> None:
    source, line, shown = OPA_ONLY[name]
    policy_set = from_files({"p/x.rego": source.encode()})
    with pytest.raises(PolicyError) as caught:
        make_engine("embedded", policy_set, EngineOptions())
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("p/x.rego", line)
    assert shown in problem.message and "--engine opa" in problem.message


@pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)
def test_opa_does_read_them() -> None:
    for source, _line, _shown in OPA_ONLY.values():
        opa = real_opa.RealOpa(from_files({"p/x.rego": source.encode()}))
        try:
            document = {"as_of": "2026-11-29", "group": {"members": [], "description": "café"}}
            assert opa.evaluate([("g", document)])["g"]["x"]["deny"] in (["m"], [])
        finally:
            opa.close()


def test_the_cli_names_the_file(tmp_path: Path) -> None:
    files = {**POLICIES, **INVENTORY, "policies/x/x.rego": OPA_ONLY["big-number"][0]}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = run_checker("audit", "--no-cache", "--as-of", "2026-11-29", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "x/x.rego:6:" in proc.stderr and "Traceback" not in proc.stderr


def test_a_compile_error_located_only_in_its_ast_names_file_and_line() -> None:
    source = HEADER.replace("import rego.v1\n", "import rego.v1\nimport data.a\nimport data.b as a\n")
    text = ("(rego-errorseq\n  (error\n    (errormsg 36:import must not shadow import data.a)\n    (errorast\n"
            f"      (rego-import 8:p/x.rego|{source.index('import data.b')}|18\n        (rego-var |63|1:a)))\n"
            "    (rego-errorcode)))\n")
    [problem] = compile_problems(text, {"p/x.rego": source})
    assert (problem.file, problem.line, problem.message) == ("p/x.rego", 5, "policy error: import must not "
                                                                            "shadow import data.a")


def test_the_same_error_from_regopy_itself() -> None:
    source = HEADER.replace("import rego.v1\n", "import rego.v1\nimport data.a\nimport data.b as a\n") + \
        'deny contains "m" if { true }\n'
    with pytest.raises(PolicyError) as caught:
        make_engine("embedded", from_files({"p/x.rego": source.encode()}), EngineOptions())
    assert [(p.file, p.line) for p in caught.value.problems] == [("p/x.rego", 5)]


def test_an_engine_started_early_raises_the_compile_error_where_it_is_first_used() -> None:
    """LazyEngine.prestart (diff starts the workers while it parses) changes when, never whether."""
    source = HEADER.replace("import rego.v1\n", "import rego.v1\nimport data.a\nimport data.b as a\n") + \
        'deny contains "m" if { true }\n'
    engine = LazyEngine("embedded", from_files({"p/x.rego": source.encode()}), EngineOptions())
    try:
        engine.prestart()
        for _ in range(2):  # and again on a second use, never an evaluation without compiled policies
            with pytest.raises(PolicyError) as caught:
                engine().evaluate([("g1", {"as_of": "2026-11-29", "group": {"id": "g1"}})])
            assert [(p.file, p.line) for p in caught.value.problems] == [("p/x.rego", 5)]
    finally:
        engine.close()


def test_an_evaluation_error_naming_a_rule_is_located() -> None:
    source = HEADER + 'deny contains "m" if {\n\tinput.group.id\n\ty := x + 1\n}\n'
    assert locate("Recursion detected in rule body: data.access.x.deny", {"p/x.rego": source}) == ("p/x.rego", 5)
    engine = make_engine("embedded", from_files({"p/x.rego": source.encode()}), EngineOptions())
    try:
        with pytest.raises(EngineError) as caught:
            engine.evaluate([("g1", {"as_of": "2026-11-29", "group": {"id": "g1"}})])
    finally:
        engine.close()
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("p/x.rego", 5)
    assert problem.message.startswith("evaluating group g1: ")
    assert "__checker_" not in problem.message


def test_what_cannot_be_located_says_so() -> None:
    [problem] = compile_problems("(rego-errorseq (error (errormsg 4:boom)))", {"p/x.rego": HEADER})
    assert problem.file == "" and NO_LOCATION in problem.message


def test_policies_past_the_compile_limits_are_refused_naming_the_module() -> None:
    from checker.engines.embedded import MAX_POLICY_BYTES, MAX_STATEMENTS

    family = (HEADER + 'deny contains "m" if false\n').encode()
    many = HEADER.replace("access.x", "lib.many") + "".join(f"r{i} := {i}\n" for i in range(MAX_STATEMENTS))
    with pytest.raises(PolicyError) as caught:
        make_engine("embedded", from_files({"p/many.rego": many.encode(), "p/x.rego": family}), EngineOptions())
    [problem] = caught.value.problems
    assert problem.file == "p/many.rego" and f"limit of {MAX_STATEMENTS:,}" in problem.message
    ones = ", ".join(["1"] * (MAX_POLICY_BYTES // 3))
    big = HEADER + f'deny contains "m" if count(big) < 1\n\nbig := [{ones}]\n'
    with pytest.raises(PolicyError, match=f"limit of {MAX_POLICY_BYTES:,}"):
        make_engine("embedded", from_files({"p/big.rego": big.encode()}), EngineOptions())
