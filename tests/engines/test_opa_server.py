"""The OPA engine: namespacing, batching, scheduling, and its failure modes.

Without the `opa` binary (the usual case here) the engine's HTTP error paths run against small
real HTTP servers started on 127.0.0.1 that answer 401, time out, or answer with OPA-shaped
errors: they stand in for network and server failures only, never for policy evaluation. The
tests that need real OPA start `opa run --server` and skip when the binary is not on PATH.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from checker import evaluate, pipeline, policies
from checker.engines import EngineOptions
from checker.engines.opa.dispatch import (
    Batch,
    Dispatcher,
    make_batches,
)
from checker.engines.opa.engine import OpaEngine
from checker.engines.opa.messages import (
    TOKEN_HINT,
    EvaluationFailed,
    ServerDown,
    opa_problems,
)
from checker.engines.opa.namespacing import (
    namespace_source,
    policy_id,
    upload_order,
    wrapper_module,
)
from checker.engines.opa.process import LocalOpa, find_opa, free_port
from checker.engines.opa.rego_tests import parse_test_report, rego_test_rules
from checker.engines.opa.rest import OpaServer
from checker.errors import CheckerError, EngineError, PolicyError

REPO = Path(__file__).resolve().parents[2]
NS = "checker_run_0a1b2c"
needs_opa = pytest.mark.skipif(find_opa() is None, reason="the `opa` binary is not on PATH (install OPA to run)")

LIB = """package lib.sizes

import rego.v1

limit(g) := data.limits[g.kind]
"""
FAMILY = """# METADATA
# title: Too big
package access.too_big

import rego.v1

import data.lib.sizes

deny contains msg if {
	count(input.group.members) > sizes.limit(input.group)
	msg := sprintf("group %s is too big", [input.group.id])
}
"""


def small_policy_set() -> policies.PolicySet:
    return policies.from_files({
        "policies/lib/sizes.rego": LIB.encode(),
        "policies/too_big/too_big.rego": FAMILY.encode(),
        "policies/data.yaml": b"limits: {chat: 2, channel: 100}\n",
    })


def group(gid: str, members: int, kind: str = "chat") -> dict[str, Any]:
    people = [{"id": f"p{n}", "location": "US", "employment": "employee"} for n in range(members)]
    return {"as_of": "2026-11-29", "group": {"id": gid, "kind": kind, "owner": people[0], "members": people}}


def closed_port() -> int:
    return free_port()  # bound and released: nothing listens there now


# ---------------------------------------------------------------- the namespace rewrite


def test_package_and_imports_move_under_the_namespace() -> None:
    source = "package access.owner_location\n\nimport rego.v1\n\nimport data.lib.groups\nimport data.lib as l\n"
    assert namespace_source(source, NS) == (
        f"package {NS}.access.owner_location\n\nimport rego.v1\n\n"
        f"import data.{NS}.lib.groups\nimport data.{NS}.lib as l\n")


def test_data_references_move_but_strings_comments_and_fields_do_not() -> None:
    source = "\n".join([
        '# data.x and package y stay in a comment',
        'a := "data.x \\" data" if input.data == data["lib"]',
        'b := `data.raw',
        'data` if true',
        'c if { some j; data.jurisdictions[j].staff_locations; x := data; y := input.package; z := q. data }',
        'd if count(data_classes) > 1.5e3',
        'e if { data.access.x.deny with data.data_classes as {} }',
    ])
    expected = "\n".join([
        '# data.x and package y stay in a comment',
        f'a := "data.x \\" data" if input.data == data.{NS}["lib"]',
        'b := `data.raw',
        'data` if true',
        f'c if {{ some j; data.{NS}.jurisdictions[j].staff_locations; x := data.{NS}; y := input.package; '
        f'z := q. data }}',
        'd if count(data_classes) > 1.5e3',
        f'e if {{ data.{NS}.access.x.deny with data.{NS}.data_classes as {{}} }}',
    ])
    assert namespace_source(source, NS) == expected


def test_template_strings_rewrite_only_their_expressions() -> None:
    source = 'm := $"{data.a[j]} data.b \\{data} { {"k": data.k}.k }" if true\nr := $`x {data.q} \\{data}` if true\n'
    assert namespace_source(source, NS) == (
        f'm := $"{{data.{NS}.a[j]}} data.b \\{{data}} {{ {{"k": data.{NS}.k}}.k }}" if true\n'
        f'r := $`x {{data.{NS}.q}} \\{{data}}` if true\n')


def test_the_rewrite_keeps_every_line_of_the_shipped_policies() -> None:
    for path in sorted((REPO / "policies").rglob("*.rego")):
        source = path.read_text(encoding="utf-8")
        rewritten = namespace_source(source, NS)
        assert rewritten.count("\n") == source.count("\n"), path
        for before, after in zip(source.splitlines(), rewritten.splitlines(), strict=True):
            if before.lstrip().startswith("#"):
                assert before == after, path
        assert "import data.lib.groups" not in rewritten, path


def test_helpers_upload_before_rule_families() -> None:
    ordered = upload_order(small_policy_set().modules)
    assert [m.package for m in ordered] == ["lib.sizes", "access.too_big"]
    assert policy_id(NS, 3, "/abs/path with space/x.rego") == f"{NS}/003/x.rego"


def test_wrapper_evaluates_every_family_with_each_input() -> None:
    text = wrapper_module("checker_batch_1", NS, small_policy_set().rules)
    assert text.startswith("# Written by checker")
    assert "package checker_batch_1\n" in text
    assert "some key, doc in input.batch" in text
    assert f'"too-big": {{"deny": data.{NS}.access.too_big.deny}}' in text
    assert "} with input as doc" in text
    assert ",\n\t}" not in text  # no trailing comma


# ---------------------------------------------------------------- batches


def test_batches_cut_by_count_and_size_and_keep_order() -> None:
    inputs = [(f"g{n}", group(f"g{n}", 2)) for n in range(7)]
    assert [[k for k, _ in b] for b in make_batches(inputs, max_groups=3)] == [
        ["g0", "g1", "g2"], ["g3", "g4", "g5"], ["g6"]]
    one = len(json.dumps(inputs[0][1], separators=(",", ":"))) + 10
    by_size = make_batches(inputs, max_groups=100, max_bytes=2 * one)
    assert [len(b) for b in by_size] == [2, 2, 2, 1]
    huge = [("big", group("big", 500)), ("small", group("small", 1))]
    assert [[k for k, _ in b] for b in make_batches(huge, max_bytes=100)] == [["big"], ["small"]]
    assert make_batches([]) == []


# ---------------------------------------------------------------- spreading over servers


def _servers(*urls: str) -> list[OpaServer]:
    return [OpaServer(url, None, 5.0, NS, {}) for url in urls]


def _dispatch(servers: list[OpaServer], evaluate_batch: Callable[..., Any], batches: int = 6,
              per_server: int = 2) -> dict[str, Any]:
    work = [Batch(n, [(f"g{n}", {})]) for n in range(batches)]
    workers = [(server, None) for server in servers for _ in range(per_server)]
    return Dispatcher(workers, work, evaluate_batch).run()


def test_batches_of_a_failing_server_are_retried_on_a_healthy_one() -> None:
    down, up = _servers("http://a.invalid:1", "http://b.invalid:2")
    seen: dict[str, list[str]] = {"http://a.invalid:1": [], "http://b.invalid:2": []}
    lock = threading.Lock()

    def evaluate_batch(server: OpaServer, _client: Any, batch: Batch) -> dict[str, Any]:
        with lock:
            seen[server.url].append(batch.items[0][0])
        if server is down:
            time.sleep(0.01)
            raise ServerDown("a is down")
        return {key: {"r": {"deny": []}} for key, _doc in batch.items}

    results = _dispatch([down, up], evaluate_batch)
    assert sorted(results) == [f"g{n}" for n in range(6)]
    assert set(seen["http://a.invalid:1"]) <= set(seen["http://b.invalid:2"])  # each retried on b


def test_all_servers_down_fails_the_run_and_names_them() -> None:
    a, b = _servers("http://a.invalid:1", "http://b.invalid:2")

    def evaluate_batch(server: OpaServer, _client: Any, _batch: Batch) -> dict[str, Any]:
        raise ServerDown(f"{server.url} refused")

    with pytest.raises(EngineError) as caught:
        _dispatch([a, b], evaluate_batch)
    text = str(caught.value)
    assert "http://a.invalid:1 refused" in text and "http://b.invalid:2 refused" in text
    assert "the run is incomplete" in text


def test_a_batch_is_retried_only_once() -> None:
    servers = _servers("http://a.invalid:1", "http://b.invalid:2", "http://c.invalid:3")
    calls: list[str] = []

    def evaluate_batch(server: OpaServer, _client: Any, _batch: Batch) -> dict[str, Any]:
        calls.append(server.url)
        raise ServerDown(f"{server.url} broke")

    with pytest.raises(EngineError):
        _dispatch(servers, evaluate_batch, batches=1, per_server=1)
    assert len(calls) == 2


def test_an_evaluation_error_is_not_retried_and_returns_nothing() -> None:
    a, b = _servers("http://a.invalid:1", "http://b.invalid:2")
    calls: list[str] = []

    def evaluate_batch(server: OpaServer, _client: Any, batch: Batch) -> dict[str, Any]:
        calls.append(batch.items[0][0])
        if batch.items[0][0] == "g3":
            raise EvaluationFailed([])
        return {key: {} for key, _doc in batch.items}

    with pytest.raises(EvaluationFailed):
        _dispatch([a, b], evaluate_batch)
    assert calls.count("g3") == 1


# ---------------------------------------------------------------- local HTTP servers for failure modes

Answer = tuple[int, Any]  # status, JSON body (None: no body)


class StubServer:
    """A real HTTP server on 127.0.0.1 whose answers a test scripts, recording every request."""

    def __init__(self, answer: Callable[[str, str, Any, dict[str, str]], Answer]) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.requests.append((self.command, self.path, body, headers))
                status, reply = answer(self.command, self.path, body, headers)
                data = b"" if reply is None else json.dumps(reply).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self, method: str) -> list[str]:
        return [path for m, path, _body, _headers in self.requests if m == method]


@pytest.fixture
def stub() -> Iterator[Callable[..., StubServer]]:
    made: list[StubServer] = []

    def make(answer: Callable[[str, str, Any, dict[str, str]], Answer]) -> StubServer:
        server = StubServer(answer)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def protocol(query: Callable[[Any], Answer] | None = None, put_policy: Callable[[str], Answer] | None = None,
             version: str = "0.70.0") -> Callable[[str, str, Any, dict[str, str]], Answer]:
    """OPA's REST protocol shapes for uploads and deletes; the batch query answers what the test says."""

    def answer(method: str, path: str, body: Any, _headers: dict[str, str]) -> Answer:
        if method == "GET" and path == "/health":
            return 200, {}
        if method == "PUT" and path.startswith("/v1/data/"):
            return 204, None
        if method == "PUT" and path.startswith("/v1/policies/"):
            return put_policy(path.removeprefix("/v1/policies/")) if put_policy else (200, {})
        if method == "GET" and "/ready" in path:
            return 200, {"result": True, "provenance": {"version": version}}
        if method == "POST" and path.startswith("/v1/data/") and query:
            return query(body)
        if method == "DELETE" and path.startswith("/v1/policies/"):
            return 200, {}
        if method == "DELETE" and path.startswith("/v1/data/"):
            return 204, None
        return 404, {"code": "resource_not_found", "message": f"{method} {path}"}

    return answer


def opa_engine(*urls: str, token: str | None = None, timeout: float = 10.0) -> OpaEngine:
    return OpaEngine(small_policy_set(), EngineOptions(jobs=2, opa_urls=urls, opa_token=token, timeout=timeout))


def test_unreachable_server_says_which_and_what_to_do() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(EngineError) as caught:
        opa_engine(url)
    text = str(caught.value)
    assert f"cannot reach the OPA server at {url}: connection refused" in text
    assert "--opa-url" in text


def test_401_on_health_asks_for_a_token(stub: Callable[..., StubServer]) -> None:
    server = stub(lambda *_: (401, {"code": "unauthorized", "message": "request rejected by administrative policy"}))
    with pytest.raises(EngineError) as caught:
        opa_engine(server.url)
    assert f"the OPA server at {server.url} refused the request (HTTP 401): {TOKEN_HINT}" in str(caught.value)


def test_401_on_upload_with_a_wrong_token(stub: Callable[..., StubServer]) -> None:
    def answer(method: str, path: str, _body: Any, _headers: dict[str, str]) -> Answer:
        if path == "/health":
            return 200, {}
        return 401, {"code": "unauthorized", "message": "request rejected by administrative policy"}

    server = stub(answer)
    with pytest.raises(EngineError) as caught:
        opa_engine(server.url, token="s3cret")
    assert "refused the bearer token" in str(caught.value) and "--opa-token" in str(caught.value)
    assert all(headers.get("authorization") == "Bearer s3cret" for _m, _p, _b, headers in server.requests)


def test_a_server_slower_than_the_timeout(stub: Callable[..., StubServer]) -> None:
    def slow(*_args: Any) -> Answer:
        time.sleep(1.5)
        return 200, {}

    server = stub(slow)
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        opa_engine(server.url, timeout=0.3)
    assert time.monotonic() - started < 1.4
    assert f"the OPA server at {server.url} did not answer GET /health within 0.3s" in str(caught.value)


def test_a_batch_query_slower_than_the_timeout_fails_the_run(stub: Callable[..., StubServer]) -> None:
    def slow_query(_body: Any) -> Answer:
        time.sleep(1.5)
        return 200, {"result": {}}

    server = stub(protocol(query=slow_query))
    engine = opa_engine(server.url, timeout=0.5)
    try:
        with pytest.raises(EngineError) as caught:
            engine.evaluate([("g1", group("g1", 3))])
    finally:
        engine.close()
    assert "did not answer POST /v1/data/checker_batch_" in str(caught.value)
    assert "the run is incomplete" in str(caught.value)


def test_a_rejected_policy_points_at_the_original_file_and_line(stub: Callable[..., StubServer]) -> None:
    def put_policy(pid: str) -> Answer:
        if pid.endswith("too_big.rego"):
            return 400, {"code": "invalid_parameter", "message": "error(s) occurred while compiling module(s)",
                         "errors": [{"code": "rego_type_error",
                                     "message": f"undefined function data.{pid.split('/')[0]}.lib.sizes.limitt",
                                     "location": {"file": pid, "row": 10, "col": 2}}]}
        return 200, {}

    server = stub(protocol(put_policy=put_policy))
    with pytest.raises(PolicyError) as caught:
        opa_engine(server.url)
    problems = caught.value.problems
    assert problems[0].file == "policies/too_big/too_big.rego"
    assert problems[0].line == 10
    assert problems[0].message == "rego_type_error: undefined function data.lib.sizes.limitt"
    assert "rejected the policies above" in problems[-1].message
    # what did get uploaded is removed again, the data too
    uploaded = [p for p in server.paths("PUT") if p.startswith("/v1/policies/")]
    deleted = server.paths("DELETE")
    assert any(p.endswith("sizes.rego") for p in uploaded)
    assert any(p.startswith("/v1/policies/") and p.endswith("sizes.rego") for p in deleted)
    assert any(p.startswith("/v1/data/checker_run_") for p in deleted)


def test_uploads_go_under_the_run_namespace_and_are_removed(stub: Callable[..., StubServer]) -> None:
    def query(body: Any) -> Answer:
        return 200, {"result": {key: {"too-big": {"deny": []}} for key in body["input"]["batch"]}}

    server = stub(protocol(query=query))
    engine = opa_engine(server.url)
    assert engine.info.name == "opa" and engine.info.version == "0.70.0"
    result = engine.evaluate([("g1", group("g1", 1)), ("g2", group("g2", 3))])
    engine.close()
    assert result == {"g1": {"too-big": {"deny": []}}, "g2": {"too-big": {"deny": []}}}
    puts = {path: body for method, path, body, _h in server.requests if method == "PUT"}
    namespace = engine.namespace
    assert puts[f"/v1/data/{namespace}"] == {"limits": {"chat": 2, "channel": 100}}
    sources = [body for path, body in puts.items() if path.startswith("/v1/policies/")]
    assert all(path.startswith(f"/v1/policies/{namespace}/") for path in puts if path.startswith("/v1/policies"))
    assert any(f"package {namespace}.access.too_big" in source for source in sources)
    query_paths = server.paths("POST")
    assert query_paths and all(p.startswith(f"/v1/data/{engine.wrapper_package}/results?") for p in query_paths)
    assert all("strict-builtin-errors=true" in p for p in query_paths)
    posted = [body for method, _p, body, _h in server.requests if method == "POST"]
    assert posted[0] == {"input": {"batch": {"g1": group("g1", 1), "g2": group("g2", 3)}}}
    deleted = server.paths("DELETE")
    assert sorted(deleted) == sorted([p for p in puts if p.startswith("/v1/policies/")] + [f"/v1/data/{namespace}"])
    assert deleted[0].endswith("wrapper.rego")  # reverse upload order: the wrapper goes first


def test_undefined_results_are_an_error_never_no_findings(stub: Callable[..., StubServer]) -> None:
    server = stub(protocol(query=lambda body: (200, {"result": {}})))
    engine = opa_engine(server.url)
    try:
        with pytest.raises(EngineError) as caught:
            engine.evaluate([("g1", group("g1", 1)), ("g2", group("g2", 1))])
    finally:
        engine.close()
    assert "came back undefined for group(s) g1, g2" in str(caught.value)


def test_a_server_that_lost_the_policies_fails_the_run(stub: Callable[..., StubServer]) -> None:
    server = stub(protocol(query=lambda body: (200, {"decision_id": "x"})))  # OPA's answer for undefined
    engine = opa_engine(server.url)
    try:
        with pytest.raises(EngineError) as caught:
            engine.evaluate([("g1", group("g1", 1))])
    finally:
        engine.close()
    assert "no longer serves the run's policies" in str(caught.value)


def test_an_evaluation_error_names_the_group_file_and_line(stub: Callable[..., StubServer]) -> None:
    uploaded: list[str] = []

    def put_policy(pid: str) -> Answer:
        uploaded.append(pid)
        return 200, {}

    def query(body: Any) -> Answer:
        if "bad" not in body["input"]["batch"]:
            return 200, {"result": {key: {"too-big": {"deny": []}} for key in body["input"]["batch"]}}
        family = next(pid for pid in uploaded if pid.endswith("too_big.rego"))
        return 500, {"code": "internal_error", "message": "error(s) occurred while evaluating query",
                     "errors": [{"code": "eval_builtin_error", "message": "sprintf: too many arguments",
                                 "location": {"file": family, "row": 11, "col": 2}}]}

    server = stub(protocol(query=query, put_policy=put_policy))
    engine = opa_engine(server.url)
    try:
        with pytest.raises(EngineError) as caught:
            engine.evaluate([("ok1", group("ok1", 1)), ("bad", group("bad", 9)), ("ok2", group("ok2", 1))])
    finally:
        engine.close()
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("policies/too_big/too_big.rego", 11)
    assert problem.message == "evaluating group bad: eval_builtin_error: sprintf: too many arguments"


def test_not_an_opa_server(stub: Callable[..., StubServer]) -> None:
    server = stub(lambda *_: (404, None))
    with pytest.raises(EngineError) as caught:
        opa_engine(server.url)
    assert "GET /health answered HTTP 404" in str(caught.value)


def test_a_bad_url_is_a_usage_error() -> None:
    with pytest.raises(CheckerError, match="not an http"):
        opa_engine("opa.internal:8181")


# ---------------------------------------------------------------- opa_problems / test reports (pure)


def test_opa_problems_map_ids_and_strip_the_namespace() -> None:
    pid = f"{NS}/001/x.rego"
    problems = opa_problems([{"code": "rego_parse_error", "message": f"in {pid}: data.{NS}.a",
                              "location": {"file": pid, "row": 3, "col": 1}}], NS, {pid: "policies/x.rego"})
    assert [str(p) for p in problems] == ["policies/x.rego:3: rego_parse_error: in policies/x.rego: data.a"]
    assert str(opa_problems(None, NS, {}, "f.rego", "boom")[0]) == "f.rego: boom"


def test_opa_test_json_report_is_read() -> None:
    report = [
        {"location": {"file": "/tmp/t/m/001_a_test.rego", "row": 7, "col": 1}, "package": "data.access.a",
         "name": "test_ok", "duration": 5},
        {"location": {"file": "/tmp/t/m/001_a_test.rego", "row": 9, "col": 1}, "package": "data.access.a",
         "name": "test_bad", "fail": True, "duration": 5, "output": "aGVsbG8K"},
        {"location": None, "package": "data.access.a", "name": "test_err", "error": {"message": "boom"}},
        {"location": None, "package": "data.access.a", "name": "todo_test_later", "skip": True},
    ]
    results = parse_test_report(report, {"/tmp/t/m/001_a_test.rego": "policies/a/a_test.rego"})
    assert results == [
        ("access.a.test_ok", True, ""),
        ("access.a.test_bad", False, "policies/a/a_test.rego:9: the test is false or undefined\n    printed: hello"),
        ("access.a.test_err", False, ": error: boom"),
    ]


def test_test_rule_names() -> None:
    source = "package p\n# test_commented if true\ntest_a if true\ntest_a if false\n\ntest_b if { 1 }\nhelper := 1\n"
    assert rego_test_rules(source) == ["test_a", "test_b"]


# ---------------------------------------------------------------- a local `opa` process


def _fake_opa(tmp_path: Path, script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "opa"
    fake.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_no_binary_and_no_url_says_to_install_opa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckerError) as caught:
        OpaEngine(small_policy_set(), EngineOptions())
    assert "install OPA" in str(caught.value) and "--opa-url" in str(caught.value)


def test_a_local_opa_that_dies_at_start_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(_fake_opa(tmp_path, "echo 'error: boom' >&2\nexit 3\n")))
    with pytest.raises(EngineError) as caught:
        OpaEngine(small_policy_set(), EngineOptions())
    assert "exited with status 3" in str(caught.value) and "error: boom" in str(caught.value)


def test_a_local_opa_that_never_gets_ready_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    monkeypatch.setenv("PATH", str(_fake_opa(tmp_path, f"echo $$ > {pid_file}\nexec sleep 30\n")) + os.pathsep
                       + os.environ["PATH"])
    with pytest.raises(EngineError) as caught:
        OpaEngine(small_policy_set(), EngineOptions(extra={"opa_ready_timeout": 0.5}))
    assert "was not ready within 0.5s" in str(caught.value)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# ---------------------------------------------------------------- the command line


def test_cli_audit_against_an_unreachable_server_exits_2() -> None:
    port = closed_port()
    proc = subprocess.run(
        [sys.executable, "-m", "checker", "audit", "--engine", "opa", "--opa-url", f"http://127.0.0.1:{port}",
         "--policies", str(REPO / "policies"), "--inventories", str(REPO / "inventories"), "--as-of", "2026-11-29"],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"cannot reach the OPA server at http://127.0.0.1:{port}: connection refused" in proc.stderr
    assert proc.stdout == ""


# ---------------------------------------------------------------- real OPA


def _opa_get(url: str, path: str) -> requests.Response:
    return requests.get(f"{url}{path}", timeout=10)


@pytest.fixture
def opa_server() -> Iterator[str]:
    binary = find_opa()
    assert binary is not None
    server = LocalOpa.start(binary)
    yield server.url
    server.stop()


def example() -> tuple[policies.PolicySet, list[tuple[str, dict[str, Any]]]]:
    policy_set = pipeline.load_policies(REPO / "policies", "policies")
    inventory = pipeline.load_inventory(REPO / "inventories", policy_set, "inventories")
    return policy_set, evaluate.inputs_for(inventory, "2026-11-29")


@needs_opa
def test_real_opa_local_server_evaluates_and_stops() -> None:
    policy_set, inputs = example()
    engine = OpaEngine(policy_set, EngineOptions(jobs=2))
    try:
        assert engine.info.version not in ("", "unknown")
        results = engine.evaluate(inputs)
    finally:
        engine.close()
    assert sorted(results) == sorted(key for key, _ in inputs)
    for raw in results.values():
        assert set(raw) == set(policy_set.rules)
    assert engine._local is not None and engine._local.process.poll() is not None


@needs_opa
def test_real_opa_shared_server_is_left_as_it_was(opa_server: str) -> None:
    foreign = "package access.owner_location\n\nimport rego.v1\n\ndeny contains \"foreign\" if true\n"
    assert requests.put(f"{opa_server}/v1/policies/foreign.rego", data=foreign, timeout=10).status_code == 200
    assert requests.put(f"{opa_server}/v1/data/data_classes", json={"x": 1}, timeout=10).status_code == 204
    policy_set, inputs = example()
    engine = OpaEngine(policy_set, EngineOptions(opa_urls=(opa_server,)))
    try:
        results = engine.evaluate(inputs)
    finally:
        engine.close()
    assert all("foreign" not in json.dumps(raw) for raw in results.values())
    ids = [p["id"] for p in _opa_get(opa_server, "/v1/policies").json()["result"]]
    assert ids == ["foreign.rego"]
    assert _opa_get(opa_server, "/v1/data/data_classes").json()["result"] == {"x": 1}
    assert "result" not in _opa_get(opa_server, f"/v1/data/{engine.namespace}").json()


@needs_opa
def test_real_opa_compile_error_maps_to_the_file_and_line(opa_server: str) -> None:
    broken = FAMILY.replace("sizes.limit(input.group)", "sizes.limitt(input.group)")
    policy_set = policies.from_files({"policies/lib/sizes.rego": LIB.encode(),
                                      "policies/too_big/too_big.rego": broken.encode(),
                                      "policies/data.yaml": b"limits: {chat: 2}\n"})
    with pytest.raises(PolicyError) as caught:
        OpaEngine(policy_set, EngineOptions(opa_urls=(opa_server,)))
    first = caught.value.problems[0]
    assert (first.file, first.line) == ("policies/too_big/too_big.rego", 10)
    assert "limitt" in first.message and "checker_run_" not in first.message
    assert _opa_get(opa_server, "/v1/policies").json()["result"] == []


@needs_opa
def test_real_opa_failover_to_the_remaining_server(tmp_path: Path) -> None:
    binary = find_opa()
    assert binary is not None
    first, second = LocalOpa.start(binary), LocalOpa.start(binary)
    try:
        policy_set, inputs = example()
        engine = OpaEngine(policy_set, EngineOptions(jobs=2, opa_urls=(first.url, second.url)))
        first.stop()  # dies after the upload, before the evaluation
        try:
            results = engine.evaluate(inputs)
        finally:
            engine.close()
        assert sorted(results) == sorted(key for key, _ in inputs)
    finally:
        first.stop()
        second.stop()


@needs_opa
def test_real_opa_token_authentication(tmp_path: Path) -> None:
    binary = find_opa()
    assert binary is not None
    authz = tmp_path / "authz.rego"
    authz.write_text('package system.authz\n\nimport rego.v1\n\ndefault allow := false\n\n'
                     'allow if input.identity == "s3cret"\n', encoding="utf-8")
    port = free_port()
    process = subprocess.Popen([binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--authentication=token",
                                "--authorization=basic", str(authz)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        with pytest.raises(EngineError, match="bearer token"):
            opa_engine(url)
        engine = opa_engine(url, token="s3cret")
        try:
            assert engine.evaluate([("g1", group("g1", 3))]) == {
                "g1": {"too-big": {"deny": ["group g1 is too big"]}}}
        finally:
            engine.close()
    finally:
        process.terminate()
        process.wait(10)


@needs_opa
def test_real_opa_runs_the_rego_tests_with_binary_and_remotely(opa_server: str) -> None:
    policy_set = pipeline.load_policies(REPO / "policies", "policies")
    if not policy_set.test_modules:
        pytest.skip("no *_test.rego in policies/")
    engine = OpaEngine(policy_set, EngineOptions(opa_urls=(opa_server,)))
    try:
        local = engine.run_rego_tests(policy_set)
        remote = engine._remote_tests(policy_set)
        percent = engine.coverage(policy_set)
    finally:
        engine.close()
    assert local and all(passed for _name, passed, _detail in local), local
    assert sorted(name for name, _p, _d in remote) == sorted(name for name, _p, _d in local)
    assert all(passed for _name, passed, _detail in remote), remote
    assert 0 < percent <= 100
    assert _opa_get(opa_server, "/v1/policies").json()["result"] == []


def test_an_answer_missing_a_family_is_an_error(stub: Callable[..., StubServer]) -> None:
    def query(body: Any) -> Answer:
        return 200, {"result": {key: {"too-big": {}} for key in body["input"]["batch"]}}

    server = stub(protocol(query=query))
    engine = opa_engine(server.url)
    try:
        with pytest.raises(EngineError, match="answered group g1 without a too-big deny set"):
            engine.evaluate([("g1", group("g1", 1))])
    finally:
        engine.close()


def test_an_evaluation_error_in_a_single_group_batch_names_it(stub: Callable[..., StubServer]) -> None:
    def query(_body: Any) -> Answer:
        return 500, {"code": "internal_error", "message": "error(s) occurred while evaluating query",
                     "errors": [{"code": "eval_conflict_error", "message": "functions must not produce multiple "
                                 "outputs for same inputs"}]}

    server = stub(protocol(query=query))
    engine = opa_engine(server.url)
    try:
        with pytest.raises(EngineError) as caught:
            engine.evaluate([("only", group("only", 1))])
    finally:
        engine.close()
    assert [p.message for p in caught.value.problems] == [
        "evaluating group only: eval_conflict_error: functions must not produce multiple outputs for same inputs"]
    assert len(server.paths("POST")) == 1  # deterministic: not retried
