"""`--engine opa` end to end, through checker's command line, with OPA's own evaluator.

The `opa` binary is not installable everywhere, so these tests serve OPA's REST API from
testing/opa_rest_shim.py: its HTTP layer is a test shim, but every policy is parsed, compiled and
evaluated by OPA's Go code (opa_bindings). They skip without the bindings. The REST contract
itself is checked against the real binary by the needs_opa tests in test_opa_server.py (GitHub CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from checker.engines.opa.dispatch import BATCH_GROUPS
from checker.engines.opa.messages import TOKEN_HINT
from checker.engines.opa.namespacing import NAMESPACE_PREFIX, WRAPPER_PREFIX
from checker.engines.opa.rego_tests import (
    DUPLICATE_TEST_SUFFIX,
    RegoTest,
    distinct_test_rules,
    rego_test_verdict,
)
from checker.policies import Module
from testing import real_opa
from testing.opa_rest_shim import OpaRestShim, serving
from tests.conftest import ROOT, run_checker

needs_bindings = pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)

AS_OF = "2026-11-29"


@pytest.fixture
def shim() -> Iterator[OpaRestShim]:
    with OpaRestShim() as server:
        yield server


def without_opa_binary() -> dict[str, str]:
    """PATH without `opa`, so `checker test` runs the *_test.rego rules through the URL (as here)."""
    kept = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "opa").exists()]
    return {"PATH": os.pathsep.join(kept)}


def audit(engine: list[str], inventories: Path, policies: Path = ROOT / "policies", cwd: Path = ROOT,
          ) -> subprocess.CompletedProcess[str]:
    return run_checker("audit", *engine, "--inventories", str(inventories), "--policies", str(policies),
                       "--format", "json", "--as-of", AS_OF, "--no-cache", "--jobs", "2", cwd=cwd)


def findings_and_engine(proc: subprocess.CompletedProcess[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert proc.returncode in (0, 1), proc.stderr
    document = json.loads(proc.stdout)
    return document["findings"], document["engine"]


def opa_flags(*servers: OpaRestShim, token: str | None = None) -> list[str]:
    flags = ["--engine", "opa"]
    for server in servers:
        flags += ["--opa-url", server.url]
    return flags + (["--opa-token", token] if token else [])


def posts(server: OpaRestShim) -> list[str]:
    return [path for method, path in server.requests if method == "POST"]


def server_state(server: OpaRestShim) -> tuple[list[Any], Any]:
    policies = requests.get(f"{server.url}/v1/policies", timeout=30).json()["result"]
    data = requests.get(f"{server.url}/v1/data", timeout=30).json().get("result")
    return policies, data


# ---------------------------------------------------------------- same findings as the embedded engine


@needs_bindings
def test_example_org_same_findings_as_embedded(shim: OpaRestShim) -> None:
    embedded, embedded_engine = findings_and_engine(audit(["--engine", "embedded"], ROOT / "inventories"))
    opa, opa_engine = findings_and_engine(audit(opa_flags(shim), ROOT / "inventories"))
    assert embedded, "the example org should have findings"
    assert opa == embedded
    assert embedded_engine["name"] == "embedded"
    assert opa_engine["name"] == "opa" and opa_engine["version"].endswith("+opa-rest-shim")
    assert posts(shim), "the findings must come from the server"


@needs_bindings
def test_generated_org_of_1000_groups_on_one_and_on_two_servers(tmp_path: Path) -> None:
    from testing.orggen import generate_org

    generate_org(tmp_path, groups=1000, seed=5)
    embedded, _ = findings_and_engine(audit(["--engine", "embedded"], tmp_path))
    with serving(2) as (first, second):
        one, _ = findings_and_engine(audit(opa_flags(first), tmp_path))
        first.requests.clear()
        two, _ = findings_and_engine(audit(opa_flags(first, second), tmp_path))
        spread = (len(posts(first)), len(posts(second)))
    assert len(embedded) > 1000
    assert one == embedded
    assert two == embedded
    batches = -(-1000 // BATCH_GROUPS)
    assert all(spread) and sum(spread) >= batches, f"{batches} batches, spread over both servers: {spread}"


# ---------------------------------------------------------------- sharing a server


FOREIGN = 'package access.owner_location\n\nimport rego.v1\n\ndeny contains "foreign" if true\n'


@needs_bindings
def test_a_shared_server_is_left_as_it_was(shim: OpaRestShim) -> None:
    assert requests.put(f"{shim.url}/v1/policies/foreign.rego", data=FOREIGN, timeout=30).status_code == 200
    assert requests.put(f"{shim.url}/v1/data/data_classes", json={"x": 1}, timeout=30).status_code == 204
    assert requests.put(f"{shim.url}/v1/data/team", json={"name": "ops"}, timeout=30).status_code == 204
    before = server_state(shim)

    embedded, _ = findings_and_engine(audit(["--engine", "embedded"], ROOT / "inventories"))
    opa, _ = findings_and_engine(audit(opa_flags(shim), ROOT / "inventories"))

    assert opa == embedded  # neither the foreign policy nor the foreign data reached checker's rules
    assert all(f["message"] != "foreign" for f in opa)
    assert server_state(shim) == before
    policies, data = before
    assert [p["id"] for p in policies] == ["foreign.rego"]
    assert data == {"access": {"owner_location": {"deny": ["foreign"]}}, "data_classes": {"x": 1},
                    "team": {"name": "ops"}}
    uploaded = [path for method, path in shim.requests if method == "PUT" and NAMESPACE_PREFIX in path]
    deleted = [path for method, path in shim.requests if method == "DELETE"]
    assert uploaded and sorted(deleted) == sorted(uploaded)


# ---------------------------------------------------------------- errors


def _break(policies: Path, relative: str, old: str, new: str) -> int:
    """Replace old by new in one module; the 1-based line it is on."""
    path = policies / relative
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    return source[:source.index(old)].count("\n") + 1


@needs_bindings
@pytest.mark.parametrize(("old", "new", "expected"), [
    ("groups.sensitive(g)", "groups.sensitivee(g)",
     r"rego_type_error: undefined function data\.lib\.groups\.sensitivee"),
    ("g := input.group", "g := input.group)", "rego_parse_error: unexpected [)] token"),
])
def test_a_bad_policy_exits_2_naming_the_file_and_line(shim: OpaRestShim, example_repo: Path, old: str, new: str,
                                                        expected: str) -> None:
    line = _break(example_repo / "policies", "access/departed_owner/departed_owner.rego", old, new)
    proc = audit(opa_flags(shim), Path("inventories"), Path("policies"), cwd=example_repo)
    assert proc.returncode == 2, proc.stderr
    assert '"error": true' in proc.stdout and '"findings"' not in proc.stdout
    assert re.search(rf"checker: error: policies/access/departed_owner/departed_owner\.rego:{line}: {expected}",
                     proc.stderr), proc.stderr
    assert NAMESPACE_PREFIX not in proc.stderr and WRAPPER_PREFIX not in proc.stderr
    assert server_state(shim) == ([], {})  # the modules that did get in were removed again


@needs_bindings
def test_a_token_protected_server(example_repo: Path) -> None:

    with serving(token="s3cret") as (server,):
        refused = audit(opa_flags(server), Path("inventories"), Path("policies"), cwd=example_repo)
        wrong = audit(opa_flags(server, token="nope"), Path("inventories"), Path("policies"), cwd=example_repo)
        accepted = audit(opa_flags(server, token="s3cret"), Path("inventories"), Path("policies"), cwd=example_repo)
        assert requests.get(f"{server.url}/v1/policies", timeout=30).status_code == 401
        left = requests.get(f"{server.url}/v1/policies", headers={"Authorization": "Bearer s3cret"}, timeout=30)
    assert refused.returncode == 2
    assert f"the OPA server at {server.url} refused the request (HTTP 401): {TOKEN_HINT}" in refused.stderr
    assert wrong.returncode == 2 and "refused the bearer token (HTTP 401)" in wrong.stderr
    findings, _ = findings_and_engine(accepted)
    assert findings
    assert left.json() == {"result": []}


# ---------------------------------------------------------------- `checker test`


@needs_bindings
def test_checker_test_runs_cases_and_rego_tests_through_the_url(shim: OpaRestShim) -> None:
    proc = run_checker("test", *opa_flags(shim), "--no-cache", env=without_opa_binary())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = re.search(r"(\d+) passed, (\d+) failed$", proc.stdout.strip())
    assert summary and summary.group(2) == "0", proc.stdout
    test_reads = [path for method, path in shim.requests if method == "GET" and "/test_" in path]
    assert len(test_reads) >= 60  # every test_* rule, read from the server
    assert int(summary.group(1)) > len(test_reads)  # and the table cases
    assert server_state(shim) == ([], {})


CIDR_FAMILY = """# METADATA
# title: Public address in a group description
# description: A group description names an IP address outside the private ranges.
# custom:
#   severity: low
#   remediation: Take the address out of the description.
package access.public_address

import rego.v1

private_ranges := ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]

deny contains msg if {
	some address in regex.find_n(`[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+`, object.get(input.group, "description", ""), -1)
	not private(address)
	msg := sprintf("group %s names the public address %s", [input.group.id, address])
}

private(address) if {
	some cidr in private_ranges
	net.cidr_contains(cidr, address)
}
"""

CIDR_TESTS = """package access.public_address

import rego.v1

test_a_public_address if {
	deny == {"group g names the public address 8.8.8.8"} with input as {"group": {"id": "g", "description": "8.8.8.8"}}
}

test_each_public_address_is_named if {
	findings := deny with input as {"group": {"id": "g", "description": "172.15.255.255 172.16.0.0 172.32.0.0"}}
	findings == {"group g names the public address 172.15.255.255", "group g names the public address 172.32.0.0"}
}

test_private_addresses if {
	count(deny) == 0 with input as {"group": {"id": "g", "description": "10.1.2.3 and 172.31.255.1"}}
}
"""

CIDR_CASES = """cases:
  - name: a public address
    group: {id: g1, description: "resolver at 8.8.8.8"}
    findings: [{level: deny}]
  - name: just below 172.16.0.0/12
    group: {id: g2, description: "172.15.255.255"}
    findings: [{level: deny}]
  - name: the first and the last address of 172.16.0.0/12
    group: {id: g3, description: "172.16.0.0 and 172.31.255.255"}
    findings: []
  - name: just above 172.16.0.0/12
    group: {id: g4, description: "172.32.0.0"}
    findings: [{level: deny}]
  - name: private addresses only
    group: {id: g5, description: "10.0.0.1, 192.168.10.20"}
    findings: []
  - name: no description
    group: {id: g6}
    findings: []
"""


@needs_bindings
def test_a_builtin_the_embedded_engine_refuses_runs_on_opa(shim: OpaRestShim, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    family = policies / "public_address"
    family.mkdir()
    (family / "public_address.rego").write_text(CIDR_FAMILY, encoding="utf-8")
    (family / "public_address_test.rego").write_text(CIDR_TESTS, encoding="utf-8")
    (family / "public_address_test.yaml").write_text(CIDR_CASES, encoding="utf-8")

    embedded = run_checker("test", "--engine", "embedded", "--policies", str(policies), "--no-cache")
    assert embedded.returncode == 2 and "net.cidr_contains" in embedded.stderr, embedded.stdout + embedded.stderr

    proc = run_checker("test", *opa_flags(shim), "--policies", str(policies), "--verbose", "--no-cache",
                       env=without_opa_binary())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("a public address", "just below 172.16.0.0/12", "the first and the last address of 172.16.0.0/12",
                 "just above 172.16.0.0/12", "private addresses only", "no description",
                 "access.public_address.test_a_public_address", "access.public_address.test_private_addresses",
                 "access.public_address.test_each_public_address_is_named"):
        assert f"PASS {name}" in proc.stdout or f"PASS public-address: {name}" in proc.stdout, (name, proc.stdout)


RUNTIME_ERROR_FAMILY = """# METADATA
# title: Numbered description
package access.numbered_description

import rego.v1

deny contains msg if {
	description := object.get(input.group, "description", "0")
	startswith(description, "Escalations")
	to_number(description) > 3
	msg := "never"
}
"""


@needs_bindings
def test_an_evaluation_error_names_the_group_file_and_line(shim: OpaRestShim, example_repo: Path) -> None:
    family = example_repo / "policies" / "numbered_description"
    family.mkdir()
    (family / "numbered_description.rego").write_text(RUNTIME_ERROR_FAMILY, encoding="utf-8")
    proc = audit(opa_flags(shim), Path("inventories"), Path("policies"), cwd=example_repo)
    assert proc.returncode == 2 and '"error": true' in proc.stdout and '"findings"' not in proc.stdout
    assert ("checker: error: policies/numbered_description/numbered_description.rego:10: evaluating group "
            "lark-us-ttsafety-escalations: eval_builtin_error: to_number: ") in proc.stderr, proc.stderr
    assert server_state(shim) == ([], {})


# ---------------------------------------------------------------- *_test.rego through the URL, as `opa test` runs them


MORE_TESTS = """package access.departed_owner

import rego.v1

test_twice if true

test_twice if false

test_table[name] if {
	some name, case in {"one": 1, "two": 2}
	case > 0
}

test_table_failing[name] := ok if {
	some name, case in {"one": 1, "minus": -1}
	ok := case > 0
}
"""


@needs_bindings
def test_each_definition_and_each_case_of_a_rego_test_counts(shim: OpaRestShim, example_repo: Path) -> None:
    family = example_repo / "policies" / "access" / "departed_owner"
    (family / "more_test.rego").write_text(MORE_TESTS, encoding="utf-8")
    proc = run_checker("test", *opa_flags(shim), "--verbose", "--no-cache", cwd=example_repo, env=without_opa_binary())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PASS access.departed_owner.test_twice\n" in proc.stdout
    assert ("FAIL access.departed_owner.test_twice#01: policies/access/departed_owner/more_test.rego:7: "
            "the test is false or undefined") in proc.stdout
    assert "PASS access.departed_owner.test_table\n" in proc.stdout
    assert ("FAIL access.departed_owner.test_table_failing: policies/access/departed_owner/more_test.rego:14: "
            "failing case(s): minus") in proc.stdout
    assert proc.stdout.strip().endswith(" passed, 2 failed")


def test_later_definitions_of_a_test_are_renamed_per_package() -> None:
    first = Module("p/a_test.rego", "package access.a\n\ntest_x if true\n\ntest_x if false\ntest_t[n] if n := 1\n")
    second = Module("p/b_test.rego", "package access.a\n\n# test_x in a comment\ntest_x := true\n")
    other = Module("p/c_test.rego", "package access.c\n\ntest_x if true\n")
    planned = distinct_test_rules([first, second, other])
    source, tests = planned["p/a_test.rego"]
    suffix = DUPLICATE_TEST_SUFFIX
    assert source == f"package access.a\n\ntest_x if true\n\ntest_x{suffix}01 if false\ntest_t[n] if n := 1\n"
    assert tests == [RegoTest("test_x", "test_x", 3, False), RegoTest("test_x#01", f"test_x{suffix}01", 5, False),
                     RegoTest("test_t", "test_t", 6, True)]
    assert planned["p/b_test.rego"] == (f"package access.a\n\n# test_x in a comment\ntest_x{suffix}02 := true\n",
                                        [RegoTest("test_x#02", f"test_x{suffix}02", 4, False)])
    assert planned["p/c_test.rego"][1] == [RegoTest("test_x", "test_x", 3, False)]


def test_a_test_passes_as_opa_test_judges_it() -> None:
    assert rego_test_verdict(True, parametrized=False) == (True, "")
    assert rego_test_verdict(None, parametrized=False) == (False, "the test is false or undefined")
    assert rego_test_verdict({"a": True}, parametrized=False)[0] is False
    assert rego_test_verdict({}, parametrized=True) == (True, "")
    assert rego_test_verdict({"a": True, "b": {"c": True}}, parametrized=True) == (True, "")
    assert rego_test_verdict({"a": True, "b": {"c": False}, "d": 1}, parametrized=True) == (
        False, "failing case(s): b/c, d")
    assert rego_test_verdict(None, parametrized=True) == (False, "the test is undefined")


# ---------------------------------------------------------------- the shim speaks OPA's REST API


@needs_bindings
def test_the_shim_answers_in_opa_shapes(shim: OpaRestShim) -> None:
    url = shim.url
    bad = requests.put(f"{url}/v1/policies/x/bad.rego", data="package p\n\nq if {\n  r(1\n}\n", timeout=30)
    assert bad.status_code == 400
    assert bad.json() == {"code": "invalid_parameter", "message": "error(s) occurred while compiling module(s)",
                          "errors": [{"code": "rego_parse_error", "message": 'unexpected } token: expected "," or ")"',
                                      "location": {"file": "x/bad.rego", "row": 5}}]}
    undefined_function = requests.put(f"{url}/v1/policies/u.rego", data="package p\n\nq if r(1)\n", timeout=30)
    assert undefined_function.status_code == 400
    assert undefined_function.json()["errors"] == [{"code": "rego_type_error", "message": "undefined function r",
                                                    "location": {"file": "u.rego", "row": 3}}]
    module = "package p\n\nimport rego.v1\n\nallow if input.n > data.limit\n\nboom := 1 / input.zero\n"
    assert requests.put(f"{url}/v1/policies/p.rego", data=module, timeout=30).json() == {}
    assert requests.put(f"{url}/v1/data/limit", json=3, timeout=30).status_code == 204
    assert requests.post(f"{url}/v1/data/p/allow", json={"input": {"n": 5}}, timeout=30).json()["result"] is True
    undefined = requests.post(f"{url}/v1/data/p/allow", json={"input": {"n": 1}}, timeout=30).json()
    assert "result" not in undefined and "decision_id" in undefined
    without_input = requests.post(f"{url}/v1/data/limit", json={}, timeout=30).json()
    assert without_input["result"] == 3 and without_input["warning"]["code"] == "api_usage_warning"
    failed = requests.post(f"{url}/v1/data/p/boom?strict-builtin-errors=true", json={"input": {"zero": 0}},
                           timeout=30)
    assert failed.status_code == 500
    assert failed.json() == {"code": "internal_error", "message": "error(s) occurred while evaluating query",
                             "errors": [{"code": "eval_builtin_error", "message": "div: divide by zero",
                                         "location": {"file": "p.rego", "row": 7}}]}
    provenance = requests.get(f"{url}/v1/data/limit?provenance", timeout=30).json()["provenance"]
    assert provenance["version"] == shim.version
    assert requests.put(f"{url}/v1/data/limit", json=4, headers={"If-None-Match": "*"}, timeout=30).status_code == 304
    conflict = requests.put(f"{url}/v1/data/p", json={"allow": 1}, timeout=30)
    assert conflict.status_code == 400 and "rego_compile_error" in conflict.json()["message"]
    assert requests.delete(f"{url}/v1/data/nothing", timeout=30).json()["code"] == "resource_not_found"
    assert requests.delete(f"{url}/v1/policies/nothing.rego", timeout=30).status_code == 404
    assert requests.delete(f"{url}/v1/policies/p.rego", timeout=30).json() == {}
    assert requests.delete(f"{url}/v1/data/limit", timeout=30).status_code == 204
    assert requests.get(f"{url}/v1/policies", timeout=30).json() == {"result": []}


# ---------------------------------------------------------------- cleanup


@needs_bindings
def test_the_same_server_named_twice_is_used_once(shim: OpaRestShim) -> None:
    proc = audit([*opa_flags(shim), "--opa-url", f"{shim.url}/"], ROOT / "inventories")
    findings, _ = findings_and_engine(proc)
    assert findings and "could not remove" not in proc.stderr, proc.stderr
    assert len([path for method, path in shim.requests if method == "PUT" and "/v1/data/" in path]) == 1
    assert server_state(shim) == ([], {})


@needs_bindings
def test_cleanup_of_what_someone_else_removed_is_quiet(shim: OpaRestShim, capsys: pytest.CaptureFixture[str]) -> None:
    from checker import pipeline
    from checker.engines import EngineOptions
    from checker.engines.opa.engine import OpaEngine

    engine = OpaEngine(pipeline.load_policies(ROOT / "policies", "policies"), EngineOptions(opa_urls=(shim.url,)))
    try:
        assert requests.delete(f"{shim.url}/v1/data/{engine.namespace}", timeout=30).status_code == 204
    finally:
        engine.close()
    assert capsys.readouterr().err == ""
    assert server_state(shim) == ([], {})
