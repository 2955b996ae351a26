"""A small OPA-REST-API-compatible server for tests, whose policy evaluation is OPA's own code.

Why: the real `opa` binary cannot be installed on some machines, but checker's OPA engine talks
to OPA's REST API. This server lets its end-to-end tests run there with real OPA evaluation.

What is OPA's own code here (through `opa_bindings`, the PyPI package opa-golib-python-bindings,
which embeds github.com/open-policy-agent/opa/v1/rego, v1.20.2 in 0.4.4):
  - parsing and compiling the uploaded modules (parse errors, type checks, rule conflicts, data
    path conflicts), and the error codes, messages, files and rows those produce;
  - evaluating every query: the rules, `with`, every built-in (net.cidr_contains included), the
    runtime errors (eval_builtin_error, eval_conflict_error, ...) with their files and rows.

What is NOT OPA's (this module, written from OPA's REST API documentation and its
v1/server/server.go, types/types.go, writer/writer.go and authorizer/authorizer.go):
  - the HTTP layer: routing, status codes, JSON response shapes, the bearer-token check;
  - storage: policies and data are Python values; every change rebuilds an OpaEngine from them;
  - turning the bindings' error strings ("file:row: code: message") back into OPA's error objects.
So the REST contract itself is only as right as this shim. It is verified against the real
`opa` binary in GitHub CI, where the tests that need `opa` on PATH run (tests/engines/
test_opa_server.py, test_differential.py); here it only lets the same client code run.

The subset served (what checker.engines.opa uses, plus reads tests need):
  GET    /health                      200 {}; 500 {"error": ...} when a trivial query fails
  GET    /v1/policies                 200 {"result": [{"id", "raw"}, ...]}
  GET    /v1/policies/{id}            200 {"result": {"id", "raw"}}; 404 resource_not_found
  PUT    /v1/policies/{id}            body: Rego text. 200 {}; 400 invalid_parameter + errors
  DELETE /v1/policies/{id}            200 {}; 404 resource_not_found; 400 invalid_operation + errors
  GET    /v1/data[/{path}]            200 {"result": ...} ("result" left out when undefined)
  POST   /v1/data[/{path}]            body {"input": ...}; same answers; a warning without "input"
  PUT    /v1/data[/{path}]            body: JSON. 204; 304 with If-None-Match: * on an existing
                                      document; 400 invalid_parameter on a path conflict
  DELETE /v1/data/{path}              204; 404 resource_not_found
Query parameters: `provenance` (adds {"provenance": {"version", ...}}), `strict-builtin-errors`
and `input` (GET) are honoured; pretty, metrics, explain and instrument are accepted and ignored.
Evaluation failures answer 500 {"code": "internal_error", "message": "error(s) occurred while
evaluating query", "errors": [{"code", "message", "location": {"file", "row"}}]}, as OPA does.
With a token, every request (/health too) needs `Authorization: Bearer <token>`, else 401
{"code": "unauthorized", "message": "request rejected by administrative policy"}: what
`opa run --authentication=token --authorization=basic` answers with a policy that checks it.

Known differences from `opa run --server`:
  - built-in errors are always strict: the bindings fix rego.StrictBuiltinErrors(true). Without
    ?strict-builtin-errors OPA would make a failing built-in call undefined and carry on; the
    shim cannot, so it answers 500 and says why (a test that needs that behaviour must use real OPA);
  - error locations carry file and row but no col (the bindings' messages do not include it),
    and parse errors no "details";
  - GET /v1/policies leaves out each module's "ast";
  - every write recompiles everything (OPA only checks path conflicts on a data write), and
    requests are served one at a time (one lock), so it is slower than OPA under load;
  - provenance.version is "<OPA version>+opa-rest-shim", so a report made through the shim says so.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import mmap
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

try:
    import opa_bindings
    from opa_bindings import OpaEngine, OpaError
except ImportError:  # pragma: no cover - depends on the machine
    opa_bindings = None  # type: ignore[assignment]

MSG_COMPILE_MODULE = "error(s) occurred while compiling module(s)"  # types.MsgCompileModuleError
MSG_EVALUATION = "error(s) occurred while evaluating query"  # types.MsgEvaluationError
MSG_UNAUTHORIZED = "request rejected by administrative policy"  # types.MsgUnauthorizedError
MSG_INPUT_MISSING = "'input' key missing from the request"  # types.MsgInputKeyMissing
NON_STRICT_BUILTIN_ERRORS = {"eval_builtin_error", "eval_type_error"}  # OPA ignores these unless strict

# The bindings' error text: an optional "bundle activation failed: " and "N error(s) occurred: ", then
# one "<file>:<row>: <code>: <message>" per line, each possibly followed by tab-indented detail lines.
_PREFIX = re.compile(r"^(?:bundle activation failed: )?(?:\d+ errors? occurred:\s*)?")
_LOCATED = re.compile(r"^(?P<file>[^\t\n][^\n]*?):(?P<row>\d+): (?P<code>(?:rego|eval)_[a-z_]+): (?P<message>[^\n]*)",
                      re.MULTILINE)
_UNLOCATED = re.compile(r"^(?P<code>(?:rego|eval)_[a-z_]+): (?P<message>[^\n]*)", re.MULTILINE)


def opa_version() -> str:
    """The OPA module version the bindings were built with, read from the library's Go build info."""
    if opa_bindings is None:
        return "unknown"
    library = Path(opa_bindings.__file__).parent / "libopabridge.so"
    marker = b"dep\tgithub.com/open-policy-agent/opa\tv"
    try:
        with library.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = data.find(marker)
            if start < 0:
                return "unknown"
            start += len(marker)
            return data[start:data.find(b"\t", start)].decode("ascii", "replace")
    except (OSError, ValueError):
        return "unknown"


# ---------------------------------------------------------------- errors (pure)


def error_objects(text: str, default_code: str) -> list[dict[str, Any]]:
    """The bindings' error text -> OPA's error objects [{"code", "message", "location"?}]."""
    text = without_prefix(text)
    errors: list[dict[str, Any]] = []
    for match in _LOCATED.finditer(text):
        errors.append({"code": match["code"], "message": match["message"].strip(),
                       "location": {"file": match["file"], "row": int(match["row"])}})
    if not errors:
        unlocated = _UNLOCATED.search(text)
        code, message = (unlocated["code"], unlocated["message"]) if unlocated else (default_code, text)
        errors.append({"code": code, "message": message.strip()})
    return errors


def errors_text(errors: list[dict[str, Any]]) -> str:
    """OPA's ast.Errors.Error(): "1 error occurred: f:3: code: msg" or "N errors occurred:\\n..."."""
    lines = []
    for error in errors:
        location = error.get("location") or {}
        where = f"{location['file']}:{location['row']}: " if location else ""
        lines.append(f"{where}{error['code']}: {error['message']}")
    if len(lines) == 1:
        return f"1 error occurred: {lines[0]}"
    return f"{len(lines)} errors occurred:\n" + "\n".join(lines)


def without_prefix(text: str) -> str:
    """'bundle activation failed: 1 error occurred: a.rego:3: ...' -> 'a.rego:3: ...'."""
    return _PREFIX.sub("", text, count=1)


# ---------------------------------------------------------------- paths (pure)


def path_segments(path: str) -> list[str]:
    """'/a/b%2Fc/' -> ['a', 'b/c']: OPA's stringPathToRef without the integer conversion."""
    return [unquote(part) for part in path.split("/") if part]


def data_query(segments: list[str]) -> str:
    """A query binding `x` to the document at data.<segments>; a segment that is an integer becomes a
    number, as in OPA's stringPathToRef (so /v1/data/a/1 reads an array element, not a key "1")."""
    return "x := data" + "".join(f"[{_integer(part)}]" if _integer(part) is not None else f"[{json.dumps(part)}]"
                                 for part in segments)


def _integer(text: str) -> int | None:
    """Go's strconv.Atoi: optional sign and ASCII digits only."""
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


def get_at(document: Any, segments: list[str]) -> tuple[bool, Any]:
    for part in segments:
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return False, None
    return True, document


# ---------------------------------------------------------------- the store


class Rejected(Exception):
    """A request OPA would refuse: the HTTP status and OPA's error body."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = dict(body)


def opa_error(status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> Rejected:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return Rejected(status, body)


def build_engine(policies: Mapping[str, str], data: Mapping[str, Any]) -> OpaEngine:
    """A compiled OpaEngine over these modules and data; Rejected (400) when OPA refuses them."""
    engine = OpaEngine()
    try:
        for pid, raw in policies.items():
            engine.add_policy(pid, raw)
        engine.add_data(dict(data))
        engine.eval_query("x = 1")  # the bindings compile lazily: make them compile now
    except OpaError as exc:
        engine.close()
        default = "rego_parse_error" if exc.code == "parse_error" else "rego_compile_error"
        raise opa_error(400, "invalid_parameter", MSG_COMPILE_MODULE, error_objects(exc.message, default)) from None
    return engine


@dataclass
class Store:
    """Policies (id -> raw text) and the base data document, with the engine compiled from them."""

    policies: dict[str, str]
    data: dict[str, Any]
    engine: OpaEngine | None = None

    def replace(self, policies: dict[str, str], data: dict[str, Any], engine: OpaEngine) -> None:
        old, self.engine = self.engine, engine
        self.policies, self.data = policies, data
        if old is not None:
            old.close()

    def current(self) -> OpaEngine:
        if self.engine is None:
            self.engine = build_engine(self.policies, self.data)
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None


# ---------------------------------------------------------------- the server


class OpaRestShim:
    """The server on 127.0.0.1:<free port>. Use as a context manager, or start() and close()."""

    def __init__(self, token: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if opa_bindings is None:
            raise RuntimeError("opa_bindings is not installed: pip install --ignore-requires-python "
                               "opa-golib-python-bindings==0.4.4")
        self.token = token
        self.version = f"{opa_version()}+opa-rest-shim"
        self.requests: list[tuple[str, str]] = []  # (method, path with query), for tests to inspect
        self._store = Store({}, {})
        self._lock = threading.Lock()  # one request at a time: the store and the engine
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> OpaRestShim:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="opa-rest-shim")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread (the command line); close() from another thread stops it."""
        self._httpd.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self._httpd.server_close()
        with self._lock:
            self._store.close()

    def __enter__(self) -> OpaRestShim:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the API, one method per route; each returns (status, body or None) or raises Rejected

    def health(self) -> tuple[int, Any]:
        with self._lock:
            try:
                self._store.current().eval_query("x = 1")
            except (OpaError, Rejected):
                return 500, {"error": "unable to perform evaluation"}
        return 200, {}

    def list_policies(self) -> tuple[int, Any]:
        with self._lock:
            return 200, {"result": [{"id": pid, "raw": raw} for pid, raw in sorted(self._store.policies.items())]}

    def get_policy(self, pid: str) -> tuple[int, Any]:
        with self._lock:
            if pid not in self._store.policies:
                raise _policy_not_found(pid)
            return 200, {"result": {"id": pid, "raw": self._store.policies[pid]}}

    def put_policy(self, pid: str, raw: str) -> tuple[int, Any]:
        with self._lock:
            if self._store.policies.get(pid) == raw:
                return 200, {}
            policies = {**self._store.policies, pid: raw}
            engine = build_engine(policies, self._store.data)
            self._store.replace(policies, self._store.data, engine)
        return 200, {}

    def delete_policy(self, pid: str) -> tuple[int, Any]:
        with self._lock:
            if pid not in self._store.policies:
                raise _policy_not_found(pid)
            policies = {k: v for k, v in self._store.policies.items() if k != pid}
            try:
                engine = build_engine(policies, self._store.data)
            except Rejected as exc:  # removing it would break another module
                raise Rejected(400, {**exc.body, "code": "invalid_operation"}) from None
            self._store.replace(policies, self._store.data, engine)
        return 200, {}

    def put_data(self, segments: list[str], value: Any, if_none_match: str | None) -> tuple[int, Any]:
        with self._lock:
            exists, _old = get_at(self._store.data, segments)
            if exists and if_none_match == "*":
                return 304, None
            data = _written(self._store.data, segments, value)
            try:
                engine = build_engine(self._store.policies, data)
            except Rejected as exc:  # OPA checks path conflicts only, and answers them as one string
                raise opa_error(400, "invalid_parameter", errors_text(exc.body.get("errors", []))) from None
            self._store.replace(self._store.policies, data, engine)
        return 204, None

    def delete_data(self, segments: list[str]) -> tuple[int, Any]:
        with self._lock:
            exists, _old = get_at(self._store.data, segments)
            if not exists or not segments:
                raise opa_error(404, "resource_not_found",
                                f"storage_not_found_error: /{'/'.join(segments)}: document does not exist")
            data = copy.deepcopy(self._store.data)
            _found, parent = get_at(data, segments[:-1])
            del parent[segments[-1]]
            self._store.replace(self._store.policies, data, build_engine(self._store.policies, data))
        return 204, None

    def query(self, segments: list[str], input_doc: Any, has_input: bool, params: Mapping[str, list[str]],
              warn_missing_input: bool) -> tuple[int, Any]:
        strict = _bool_param(params, "strict-builtin-errors")
        answer: dict[str, Any] = {"decision_id": str(uuid.uuid4())}
        with self._lock:
            try:
                bindings = self._store.current().eval_query(data_query(segments), input_doc if has_input else None)
            except OpaError as exc:
                raise _evaluation_failed(exc, strict) from None
        if warn_missing_input:
            answer["warning"] = {"code": "api_usage_warning", "message": MSG_INPUT_MISSING}
        if _bool_param(params, "provenance"):
            answer["provenance"] = {"version": self.version, "build_commit": "", "build_timestamp": "",
                                    "build_hostname": "opa-rest-shim"}
        if bindings:
            answer["result"] = bindings[0]["x"]
        return 200, answer

    def authorized(self, header: str | None) -> bool:
        return self.token is None or header == f"Bearer {self.token}"


def _written(data: dict[str, Any], segments: list[str], value: Any) -> dict[str, Any]:
    """A copy of data with value at segments, parents made as objects (OPA's storage.MakeDir)."""
    if not segments:
        if not isinstance(value, dict):
            raise opa_error(400, "invalid_parameter", "storage_invalid_patch_error: root must be object")
        return copy.deepcopy(value)
    result = copy.deepcopy(data)
    node: Any = result
    for index, part in enumerate(segments[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise opa_error(404, "resource_conflict",
                            f"storage_write_conflict_error: /{'/'.join(segments[:index + 1])}")
        node = child
    node[segments[-1]] = copy.deepcopy(value)
    return result


def _policy_not_found(pid: str) -> Rejected:
    return opa_error(404, "resource_not_found", f"storage_not_found_error: policy id {json.dumps(pid)}")


def _evaluation_failed(exc: OpaError, strict: bool) -> Rejected:
    errors = error_objects(exc.message, "eval_internal_error")
    if exc.code != "eval_error":  # not a runtime error: the bindings could not prepare the query
        return opa_error(500, "internal_error", without_prefix(exc.message))
    if not strict and any(e["code"] in NON_STRICT_BUILTIN_ERRORS for e in errors):
        return opa_error(500, "internal_error",
                         "opa_rest_shim cannot evaluate this without strict-builtin-errors: OPA would make the "
                         "failing built-in call undefined and carry on, its Go bindings always stop", errors)
    return opa_error(500, "internal_error", MSG_EVALUATION, errors)


def _bool_param(params: Mapping[str, list[str]], name: str) -> bool:
    """OPA's getBoolParam: present without a value, or with any value equal to "true"."""
    values = params.get(name)
    if values is None:
        return False
    return values == [""] or any(v.lower() == "true" for v in values)


# ---------------------------------------------------------------- HTTP


def _handler_class(shim: OpaRestShim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the engine's requests sessions expect

        def do_GET(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def log_message(self, *_args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""  # always read: the connection is reused
            shim.requests.append((self.command, self.path))
            if not shim.authorized(self.headers.get("Authorization")):
                self._send(401, {"code": "unauthorized", "message": MSG_UNAUTHORIZED})
                return
            try:
                status, reply = route(shim, self.command, self.path, body, self.headers.get("If-None-Match"))
            except Rejected as exc:
                status, reply = exc.status, exc.body
            except Exception as exc:  # a shim bug must read as a server failure, never as an answer
                status, reply = 500, {"code": "internal_error", "message": f"opa_rest_shim: {exc!r}"}
            self._send(status, reply)

        def _send(self, status: int, reply: Any) -> None:
            if isinstance(reply, str):  # Go's ServeMux text answers (404 page not found)
                payload, kind = reply.encode(), "text/plain; charset=utf-8"
            else:
                payload = b"" if reply is None else json.dumps(reply).encode() + b"\n"
                kind = "application/json"
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

    return Handler


def route(shim: OpaRestShim, method: str, raw_path: str, body: bytes, if_none_match: str | None
          ) -> tuple[int, Any]:
    parts = urlsplit(raw_path)
    path, params = parts.path, parse_qs(parts.query, keep_blank_values=True)
    if path == "/health":
        return shim.health() if method == "GET" else (405, None)
    if path == "/v1/policies":
        return shim.list_policies() if method == "GET" else (405, None)
    if path.startswith("/v1/policies/"):
        pid = unquote(path.removeprefix("/v1/policies/"))
        if method == "GET":
            return shim.get_policy(pid)
        if method == "PUT":
            return shim.put_policy(pid, body.decode("utf-8", "replace"))
        if method == "DELETE":
            return shim.delete_policy(pid)
        return 405, None
    if path == "/v1/data" or path.startswith("/v1/data/"):
        segments = path_segments(path.removeprefix("/v1/data"))
        if any('"' in part for part in segments):
            raise opa_error(400, "invalid_parameter", f"invalid path: invalid ref term {path!r}")
        if method == "GET":
            has_input = "input" in params
            input_doc = _json(params["input"][-1], "parameter contains malformed input document") if has_input else None
            return shim.query(segments, input_doc, has_input, params, warn_missing_input=False)
        if method == "POST":
            request = _json(body, "body contains malformed input document") if body.strip() else {}
            has_input = isinstance(request, dict) and "input" in request
            return shim.query(segments, request.get("input") if has_input else None, has_input, params,
                              warn_missing_input=not has_input)
        if method == "PUT":
            return shim.put_data(segments, _json(body, "body contains malformed JSON"), if_none_match)
        if method == "DELETE" and segments:
            return shim.delete_data(segments)
        return 405, None
    return 404, "404 page not found\n"


def _json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise opa_error(400, "invalid_parameter", f"{what}: {exc}") from None


@contextlib.contextmanager
def serving(count: int = 1, token: str | None = None) -> Iterator[list[OpaRestShim]]:
    """count running shims (independent stores, like separate OPA servers), closed afterwards."""
    shims: list[OpaRestShim] = []
    try:
        for _ in range(count):
            shims.append(OpaRestShim(token).start())
        yield shims
    finally:
        for shim in shims:
            shim.close()


def main(argv: list[str] | None = None) -> None:
    """python -m testing.opa_rest_shim [--port N] [--token T]: serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token")
    args = parser.parse_args(argv)
    shim = OpaRestShim(args.token, port=args.port)
    print(f"serving OPA's REST API subset (OPA {shim.version}) at {shim.url}", flush=True)
    try:
        shim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        shim.close()


if __name__ == "__main__":
    main()
