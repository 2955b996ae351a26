"""The OPA engine: evaluates through OPA's REST API, on running servers or on a local `opa`.

Which HTTP calls go through opa-python-client (OpaClient) and which do not:
  - OpaClient: PUT/DELETE /v1/policies/{id} (update_policy_from_string, delete_policy),
    PUT/DELETE /v1/data/{path} (update_or_create_data, delete_data), the batched query
    POST /v1/data/{path} {"input": ...} (query_rule) and the GET /v1/data reads (get_data).
  - plain `requests`: the first GET /health of each server, because the client's check_health()
    answers a bare bool and checker must tell "refused", "timed out" and "401" apart.
The client builds its URLs from host and port; checker points its public `root_url` at the exact
base URL so IPv6 literals and servers behind a path prefix work too.

Sharing a server without clobbering it. Every module is uploaded with its package moved under
`checker_run_<id>` and every `data` reference rewritten to match, by a token-level rewrite that
skips strings and comments: `package access.x` -> `package checker_run_<id>.access.x`,
`import data.lib.groups` -> `import data.checker_run_<id>.lib.groups` (the alias stays `groups`),
`data.jurisdictions[j]` -> `data.checker_run_<id>.jurisdictions[j]`. The policy data goes to
/v1/data/checker_run_<id>, so `data.X` in the policies still finds it; a generated wrapper module
(package `checker_batch_<id>`) evaluates a whole batch of groups per request with
`with input as doc`. The rewrite inserts text within lines only, so OPA's line numbers are the
source's. Policy ids are `checker_run_<id>/NNN/<file name>`; close() deletes all of it, in the
reverse order of upload (OPA recompiles on delete), and the data, also after a failure.

The *_test.rego tests run with `opa test` when the binary is on PATH; otherwise their modules are
uploaded the same way and each test_* rule is read back, judged as `opa test` judges it: every
definition of a rule on its own, and a parametrized test (test_x[case]) case by case.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import PolicyNotFoundError, RegoParseError

from checker.engines import EngineOptions, RawResult
from checker.engines.opa_process import READY_TIMEOUT, LocalOpa, binary_version, find_opa
from checker.errors import CheckerError, EngineError, PolicyError, Problem
from checker.models import Engine as EngineInfo
from checker.models import RuleInfo
from checker.policies import Module, PolicySet

NAMESPACE_PREFIX = "checker_run_"
WRAPPER_PREFIX = "checker_batch_"
BATCH_GROUPS = 200  # groups per request ...
BATCH_BYTES = 4 * 1024 * 1024  # ... or about this much JSON, whichever comes first
MAX_WORKERS_PER_SERVER = 8
EVAL_ERROR_MESSAGE = "error(s) occurred while evaluating query"  # OPA's types.MsgEvaluationError
TOKEN_HINT = "the server requires a bearer token: pass --opa-token / CHECKER_OPA_TOKEN"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.MULTILINE)
DUPLICATE_TEST_SUFFIX = "__checker_definition_"  # test_x's second definition is uploaded as test_x__..._01
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


# ---------------------------------------------------------------- namespacing (pure)


def namespace_source(source: str, namespace: str) -> str:
    """Move a module under `namespace`: its package and every reference rooted at `data`.

    A scanner, not a regex: strings ("...", `...`), template strings ($"..{expr}..") and
    comments are copied unchanged, except for the expressions inside template strings. An
    identifier is rewritten only where it starts a reference (not after a `.`, so `input.data`
    and `x.package` stay). Lines are never added or removed.
    """
    out: list[str] = []
    # Scanner modes: ("code", depth) at the top level (depth None) or inside a template
    # string's {...} (depth = open braces); ("tmpl", raw) inside a template string's text.
    modes: list[tuple[str, Any]] = [("code", None)]
    prev = ""  # the previous significant character in code
    package_pending = False
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        mode, arg = modes[-1]
        if mode == "tmpl":
            closing = "`" if arg else '"'
            if ch == "\\" and i + 1 < n and (not arg or source[i + 1] == "{"):
                out.append(source[i:i + 2])
                i += 2
            elif ch == closing:
                out.append(ch)
                modes.pop()
                prev = '"'
                i += 1
            elif ch == "{":
                out.append(ch)
                modes.append(("code", 0))
                prev = "{"
                i += 1
            else:
                out.append(ch)
                i += 1
            continue
        if ch in " \t\r\n":
            out.append(ch)
            i += 1
        elif ch == "#":
            eol = source.find("\n", i)
            j = n if eol < 0 else eol
            out.append(source[i:j])
            i = j
        elif ch == '"':
            j = i + 1
            while j < n and source[j] not in '"\n':
                j += 2 if source[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(source[i:j])
            prev, i = '"', j
        elif ch == "`":
            close = source.find("`", i + 1)
            j = n if close < 0 else close + 1
            out.append(source[i:j])
            prev, i = '"', j
        elif ch == "$" and i + 1 < n and source[i + 1] in '"`':
            out.append(source[i:i + 2])
            modes.append(("tmpl", source[i + 1] == "`"))
            i += 2
        elif ch.isalpha() or ch == "_":
            match = _IDENT.match(source, i)
            word = match.group(0) if match else ch
            if package_pending:
                out.append(namespace + ".")
                package_pending = False
            if prev != "." and word == "package":
                package_pending = True
            elif prev != "." and word == "data":
                word = f"data.{namespace}"
            out.append(word)
            prev, i = "a", i + len(match.group(0) if match else ch)
        elif ch.isdigit():
            match = _NUMBER.match(source, i)
            j = match.end() if match else i + 1
            out.append(source[i:j])
            prev, i = "0", j
        else:
            if arg is not None:  # inside a template string's {...}
                if ch == "{":
                    modes[-1] = ("code", arg + 1)
                elif ch == "}":
                    if arg == 0:
                        modes.pop()
                    else:
                        modes[-1] = ("code", arg - 1)
            out.append(ch)
            prev = ch
            i += 1
    return "".join(out)


def data_ref(*segments: str) -> str:
    """data.a.b["not-an-identifier"]: a reference OPA parses, from path segments."""
    parts = ["data"]
    for segment in segments:
        parts.append(f".{segment}" if _IDENT.fullmatch(segment) else f"[{json.dumps(segment)}]")
    return "".join(parts)


def wrapper_module(package: str, namespace: str, rules: Mapping[str, RuleInfo]) -> str:
    """The per-run module that evaluates every rule family for each group of a batch.

    input = {"batch": {key: group input}}; results[key] = {rule id: {"deny": [...], ...}}. A key is
    missing from results when any family's set is undefined for that group: checker treats that
    as an error, never as "no findings".
    """
    entries = []
    for rule in rules.values():
        levels = ", ".join(f"{json.dumps(level)}: {data_ref(namespace, *rule.package.split('.'), level)}"
                           for level in rule.levels)
        entries.append(f"\t\t{json.dumps(rule.rule_id)}: {{{levels}}}")
    body = "{\n" + ",\n".join(entries) + "\n\t}" if entries else "{}"
    return (
        f"# Written by checker for one run and deleted at its end.\n"
        f"package {package}\n\n"
        f"import rego.v1\n\n"
        f"ready := true\n\n"
        f"results[key] := r if {{\n"
        f"\tsome key, doc in input.batch\n"
        f"\tr := {body} with input as doc\n"
        f"}}\n"
    )


def policy_id(namespace: str, index: int, display_path: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", display_path.rsplit("/", 1)[-1]) or "module.rego"
    return f"{namespace}/{index:03d}/{name}"


def upload_order(modules: Sequence[Module]) -> list[Module]:
    """Helper packages before the rule families (fewer retries: OPA compiles on every PUT)."""
    return sorted(modules, key=lambda m: (m.package or "").startswith("access."))


# ---------------------------------------------------------------- batches (pure)


def make_batches(inputs: Sequence[tuple[str, Mapping[str, Any]]], max_groups: int = BATCH_GROUPS,
                 max_bytes: int = BATCH_BYTES) -> list[list[tuple[str, Mapping[str, Any]]]]:
    """Consecutive runs of inputs, each at most max_groups long and about max_bytes of JSON.

    A single input larger than max_bytes gets a batch of its own."""
    batches: list[list[tuple[str, Mapping[str, Any]]]] = []
    current: list[tuple[str, Mapping[str, Any]]] = []
    size = 0
    for key, document in inputs:
        item_size = len(json.dumps(document, separators=(",", ":"))) + len(key) + 4
        if current and (len(current) >= max_groups or size + item_size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append((key, document))
        size += item_size
    if current:
        batches.append(current)
    return batches


# ---------------------------------------------------------------- messages (pure)


class ServerDown(EngineError):
    """This server cannot serve the run any more (unreachable, timed out, 5xx, lost our policies).

    Batches are idempotent, so a batch that met this may be retried on another server."""


class EvaluationFailed(EngineError):
    """OPA evaluated the batch and reported a runtime error: deterministic, so not retried elsewhere."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)


def connection_reason(exc: BaseException) -> str:
    """`[Errno 111] Connection refused` -> "connection refused"; the exception class otherwise."""
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(1).strip().lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    return type(exc).__name__


def unreachable_message(url: str, exc: BaseException) -> str:
    return (f"cannot reach the OPA server at {url}: {connection_reason(exc)}. Check that it is running and that "
            f"--opa-url is right, or omit --opa-url to let checker start a local `opa`")


def timeout_message(url: str, what: str, timeout: float) -> str:
    return (f"the OPA server at {url} did not answer {what} within {timeout:g}s (the engine timeout): check the "
            f"server's health and load, or spread the run over more servers (--opa-url, repeatable)")


def auth_message(url: str, status: int | str, token_given: bool) -> str:
    if token_given:
        return (f"the OPA server at {url} refused the bearer token (HTTP {status}): check --opa-token / "
                f"CHECKER_OPA_TOKEN and the server's system.authz policy")
    return f"the OPA server at {url} refused the request (HTTP {status}): {TOKEN_HINT}"


def clean_message(message: str, namespace: str, names: Mapping[str, str]) -> str:
    """OPA's text with our policy ids shown as the original files and the namespace taken out."""
    for pid in sorted(names, key=len, reverse=True):
        message = message.replace(pid, names[pid])
    return message.replace(f"data.{namespace}.", "data.").replace(f"{namespace}.", "")


def opa_problems(errors: Any, namespace: str, names: Mapping[str, str], fallback_file: str = "",
                 fallback: str = "") -> list[Problem]:
    """OPA's error list [{"code", "message", "location": {"file", "row", "col"}}] -> Problems.

    file is a policy id of this run, mapped back to the original display path; rows need no
    mapping because the namespace rewrite never adds or removes lines."""
    problems: list[Problem] = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        location: dict[str, Any] = error["location"] if isinstance(error.get("location"), dict) else {}
        file = names.get(str(location.get("file") or ""), str(location.get("file") or fallback_file))
        row = location.get("row")
        code = error.get("code")
        text = clean_message(str(error.get("message") or ""), namespace, names)
        problem = Problem(file, row if isinstance(row, int) and row > 0 else None,
                          f"{code}: {text}" if code else text)
        if problem not in problems:
            problems.append(problem)
    if not problems:
        problems.append(Problem(fallback_file, None, clean_message(fallback or "rejected by OPA", namespace, names)))
    return problems


def _json_body(response: requests.Response) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            return body
    return {}


def _looks_like_eval_error(status: int, body: Mapping[str, Any]) -> bool:
    if status != 500:
        return False
    errors: list[Any] = body["errors"] if isinstance(body.get("errors"), list) else []
    codes = [e.get("code", "") for e in errors if isinstance(e, dict)]
    return body.get("message") == EVAL_ERROR_MESSAGE or any(str(c).startswith("eval_") for c in codes)


# ---------------------------------------------------------------- one server


class OpaServer:
    """Calls to one OPA server; each worker thread gets its own client (its own HTTP session)."""

    def __init__(self, url: str, token: str | None, timeout: float, namespace: str,
                 names: Mapping[str, str]) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckerError(f"--opa-url {url!r} is not an http(s) URL such as http://opa.internal:8181")
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise CheckerError(f"--opa-url {url!r} has an invalid port") from None
        self.url = url.strip().rstrip("/")
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._host = parts.hostname
        self._ssl = parts.scheme == "https"
        self.token = token
        self.timeout = timeout
        self.namespace = namespace
        self.names = names  # policy id -> display path, shared with the engine (grows with test modules)
        self.policy_ids: list[str] = []  # uploaded, in upload order
        self.data_uploaded = False
        self.version = "unknown"
        self._clients: list[Any] = []
        self._lock = threading.Lock()

    def new_client(self) -> Any:
        client = OpaClient(host=self._host, port=self._port, ssl=self._ssl, token=self.token,
                           timeout=self.timeout, retries=1)
        client.root_url = f"{self.base}/v1"  # exact base: IPv6 literals, path prefixes behind a proxy
        with self._lock:
            self._clients.append(client)
        return client

    def close_clients(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.close_connection()

    # -- error translation

    def fail(self, what: str, exc: BaseException) -> NoReturn:
        """Raise the CheckerError that says what went wrong with this server and what to do."""
        if isinstance(exc, requests.exceptions.Timeout):
            raise ServerDown(timeout_message(self.url, what, self.timeout)) from None
        if isinstance(exc, requests.exceptions.ConnectionError):
            raise ServerDown(unreachable_message(self.url, exc)) from None
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            self.fail_status(what, exc.response.status_code, _json_body(exc.response))
        code = getattr(exc, "expression", None)  # opa_client's errors carry OPA's code and message
        if isinstance(code, str) and hasattr(exc, "message"):
            if code == "unauthorized":
                raise EngineError(auth_message(self.url, 401, bool(self.token))) from None
            if code == "internal_error" and exc.message == EVAL_ERROR_MESSAGE:
                raise EvaluationFailed([Problem("", None, f"{what}: {exc.message}")]) from None
            if code == "internal_error":
                raise ServerDown(f"the OPA server at {self.url} failed while {what}: {exc.message}") from None
            raise EngineError(opa_problems(getattr(exc, "errors", None), self.namespace, self.names,
                                           fallback=f"the OPA server at {self.url} rejected {what}: "
                                                    f"{code}: {exc.message}")) from None
        if isinstance(exc, ValueError):  # the client parsed an answer that is not JSON
            raise EngineError(f"the OPA server at {self.url} answered {what} with something that is not OPA's "
                              f"JSON: is --opa-url the address of an OPA server?") from None
        if isinstance(exc, requests.exceptions.RequestException):
            raise ServerDown(f"the OPA server at {self.url} failed while {what}: {exc}") from None
        raise exc

    def fail_status(self, what: str, status: int, body: Mapping[str, Any]) -> NoReturn:
        if status in (401, 403):
            raise EngineError(auth_message(self.url, status, bool(self.token)))
        if _looks_like_eval_error(status, body):
            raise EvaluationFailed(opa_problems(body.get("errors"), self.namespace, self.names,
                                                fallback=str(body.get("message") or "evaluation error")))
        detail = clean_message(str(body.get("message") or ""), self.namespace, self.names)
        detail = f": {body.get('code')}: {detail}" if detail else ""
        if status >= 500:
            raise ServerDown(f"the OPA server at {self.url} failed while {what} (HTTP {status}{detail})")
        raise EngineError(f"the OPA server at {self.url} rejected {what} (HTTP {status}{detail})")

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except CheckerError:
            raise
        except Exception as exc:
            self.fail(what, exc)

    # -- the calls

    def check_health(self) -> None:
        """GET /health with plain requests: tells refused, timed out, 401 and "not OPA" apart."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        with self.calling("GET /health"):
            response = requests.get(f"{self.base}/health", headers=headers, timeout=self.timeout)
        if response.status_code == 200:
            return
        if response.status_code in (401, 403):
            raise EngineError(auth_message(self.url, response.status_code, bool(self.token)))
        raise EngineError(f"the OPA server at {self.url} is not healthy: GET /health answered HTTP "
                          f"{response.status_code}; is --opa-url the address of an OPA server, and is it ready?")

    def put_data(self, client: Any, data: Mapping[str, Any]) -> None:
        with self.calling("uploading the policy data (PUT /v1/data)"):
            client.update_or_create_data(dict(data), self.namespace)
        self.data_uploaded = True

    def put_policy(self, client: Any, pid: str, source: str) -> list[Problem]:
        """Upload one module; its compile problems when OPA rejects it (400), [] when accepted."""
        with self.calling(f"uploading {self.names.get(pid, pid)} (PUT /v1/policies)"):
            try:
                client.update_policy_from_string(source, pid, rego_compat=False)
            except RegoParseError as exc:
                if exc.expression != "invalid_parameter":  # 401, 500, ...: fail() says what to do
                    raise
                return opa_problems(exc.errors, self.namespace, self.names, self.names.get(pid, pid),
                                    str(exc.message))
        if pid not in self.policy_ids:
            self.policy_ids.append(pid)
        return []

    def read_version(self, client: Any, ready_path: str) -> str:
        """GET the wrapper's `ready` with ?provenance: proves the upload is live and names OPA's version."""
        with self.calling("reading the uploaded policies back"):
            body = client.get_data(ready_path, query_params={"provenance": "true"})
        if body.get("result") is not True:
            raise EngineError(f"the OPA server at {self.url} did not serve the policies checker uploaded")
        provenance: dict[str, Any] = body["provenance"] if isinstance(body.get("provenance"), dict) else {}
        self.version = str(provenance.get("version") or "unknown")
        return self.version

    def query(self, client: Any, package_path: str, rule: str, input_doc: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/data/<package>/<rule> {"input": ...}: the whole answer, {"result": ...} when defined."""
        with self.calling(f"POST /v1/data/{package_path.replace('.', '/')}/{rule}"):
            answer = client.query_rule(dict(input_doc), package_path, rule,
                                       query_params={"strict-builtin-errors": "true"})
        return answer if isinstance(answer, dict) else {}

    def get_rule(self, client: Any, path: str) -> dict[str, Any]:
        """GET /v1/data/<path>: the whole answer; {} when the document is undefined."""
        with self.calling(f"GET /v1/data/{path}"):
            try:
                return dict(client.get_data(path))
            except PolicyNotFoundError as exc:
                if exc.expression == "PolicyNotFoundError":  # the client's word for 200 without a result
                    return {}
                raise

    def release(self, client: Any) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        with contextlib.suppress(Exception):
            client.close_connection()

    def remove_everything(self) -> list[str]:
        """Delete what this run uploaded: policies in reverse upload order, then the data.

        OPA recompiles on every delete and refuses one that would break a remaining module,
        so deletes that fail are retried after the others. Returns what could not be removed."""
        client = self.new_client()
        pending = list(reversed(self.policy_ids))
        left: list[str] = []
        while pending:
            failed = []
            for pid in pending:
                try:
                    client.delete_policy(pid)
                except Exception as exc:  # reported, never raised from cleanup
                    if not _already_gone(exc):
                        failed.append((pid, exc))
            if len(failed) == len(pending):
                left = [f"policy {pid} ({_short(exc)})" for pid, exc in failed]
                break
            pending = [pid for pid, _exc in failed]
        self.policy_ids = [pid for pid in self.policy_ids if any(pid in item for item in left)]
        if self.data_uploaded:
            try:
                client.delete_data(self.namespace)
            except Exception as exc:
                if not _already_gone(exc):
                    left.append(f"data /{self.namespace} ({_short(exc)})")
            self.data_uploaded = any(item.startswith("data /") for item in left)
        return left


def _already_gone(exc: BaseException) -> bool:
    """OPA's 404 on a delete: not there any more (the server restarted, or someone removed it)."""
    return getattr(exc, "expression", None) == "resource_not_found"


def _short(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)[:200]


# ---------------------------------------------------------------- spreading batches over servers


@dataclass
class Batch:
    index: int
    items: list[tuple[str, Mapping[str, Any]]]
    tried: list[str] = field(default_factory=list)  # server urls that failed it


Worker = tuple[OpaServer, Any]  # a server and one client (HTTP session) of it
EvaluateBatch = Callable[[OpaServer, Any, Batch], dict[str, RawResult]]


class Dispatcher:
    """Runs batches on worker threads spread over servers; all of them or an error, never part.

    A batch that meets ServerDown is retried once on another healthy server; the failing server
    takes no more batches. Any other error ends the run."""

    def __init__(self, workers: Sequence[Worker], batches: Sequence[Batch], evaluate: EvaluateBatch,
                 max_tries: int = 2) -> None:
        self._workers = list(workers)
        self._queue: deque[Batch] = deque(batches)
        self._remaining = len(batches)
        self._evaluate = evaluate
        self._max_tries = max_tries
        self._cond = threading.Condition()
        self._down: dict[str, str] = {}
        self._error: CheckerError | None = None
        self._stopped = False
        self._results: dict[str, RawResult] = {}
        self._servers = {server.url for server, _client in self._workers}

    def run(self) -> dict[str, RawResult]:
        threads = [threading.Thread(target=self._work, args=worker, daemon=True, name=f"opa-{n}")
                   for n, worker in enumerate(self._workers)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # short joins keep Ctrl-C deliverable to the main thread
        except BaseException:
            self.stop()
            raise
        if self._error is not None:
            raise self._error
        if self._remaining:
            raise EngineError(f"{self._remaining} batch(es) were not evaluated; the run is incomplete")
        return self._results

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _take(self, url: str) -> Batch | None:
        for batch in self._queue:
            if url not in batch.tried:
                self._queue.remove(batch)
                return batch
        return None

    def _work(self, server: OpaServer, client: Any) -> None:
        while True:
            with self._cond:
                batch = None
                while batch is None:
                    if self._stopped or self._error is not None or not self._remaining or server.url in self._down:
                        return
                    batch = self._take(server.url)
                    if batch is None:
                        self._cond.wait(0.5)
            try:
                results = self._evaluate(server, client, batch)
            except ServerDown as exc:
                with self._cond:
                    self._down[server.url] = str(exc)
                    batch.tried.append(server.url)
                    self._queue.appendleft(batch)
                    self._fail_stranded()
                    self._cond.notify_all()
                return
            except CheckerError as exc:
                self._set_error(exc)
                return
            except BaseException as exc:  # fail closed: an unexpected error must not read as a pass
                self._set_error(EngineError(f"evaluating on {server.url} failed unexpectedly: {exc!r}"))
                return
            with self._cond:
                self._results.update(results)
                self._remaining -= 1
                self._cond.notify_all()

    def _set_error(self, error: CheckerError) -> None:
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    def _fail_stranded(self) -> None:
        """Called with the lock held: end the run if a queued batch has nowhere left to go."""
        healthy = self._servers - set(self._down)
        for batch in self._queue:
            if len(batch.tried) >= self._max_tries or not (healthy - set(batch.tried)):
                problems = [Problem("", None, reason) for reason in self._down.values()]
                first = batch.items[0][0] if batch.items else "?"
                problems.append(Problem("", None, (
                    f"a batch of {len(batch.items)} group(s) (first: {first}) could not be evaluated on any "
                    f"healthy OPA server; the run is incomplete")))
                if self._error is None:
                    self._error = EngineError(problems)
                return


# ---------------------------------------------------------------- the engine


@dataclass(frozen=True)
class Upload:
    pid: str
    path: str  # display path
    source: str  # namespaced


class OpaEngine:
    """PolicyEngine on OPA servers (--opa-url, repeatable) or on a local `opa run --server`."""

    def __init__(self, policy_set: PolicySet, options: EngineOptions) -> None:
        self._options = options
        self._policy_set = policy_set
        run = secrets.token_hex(6)
        self.namespace = f"{NAMESPACE_PREFIX}{run}"
        self.wrapper_package = f"{WRAPPER_PREFIX}{run}"
        self._names: dict[str, str] = {}
        self._uploads = self._prepare(policy_set.modules, start=0)
        self._test_uploads: list[Upload] | None = None
        wrapper_id = f"{self.namespace}/batch/wrapper.rego"
        self._names[wrapper_id] = "(checker's batch wrapper)"
        self._wrapper = Upload(wrapper_id, self._names[wrapper_id],
                               wrapper_module(self.wrapper_package, self.namespace, policy_set.rules))
        self._local: LocalOpa | None = None
        self._servers: list[OpaServer] = []
        self._dispatcher: Dispatcher | None = None
        self._closed = False
        self.info = EngineInfo("opa", "unknown")
        try:
            # The same server twice would get the run twice and see its second cleanup fail.
            urls = tuple(dict.fromkeys(url.strip().rstrip("/") for url in options.opa_urls))
            if not urls:
                urls = (self._start_local(),)
            self._servers = [OpaServer(url, options.opa_token, options.timeout, self.namespace, self._names)
                             for url in urls]
            versions = [self._install(server) for server in self._servers]
            self.info = EngineInfo("opa", ", ".join(dict.fromkeys(versions)))
        except BaseException:
            self.close()
            raise

    def _prepare(self, modules: Sequence[Module], start: int, sources: Mapping[str, str] | None = None
                 ) -> list[Upload]:
        """Uploads for modules; sources replaces a module's text before namespacing (by path)."""
        uploads = []
        for index, module in enumerate(upload_order(modules), start=start):
            pid = policy_id(self.namespace, index, module.path)
            self._names[pid] = module.path
            source = (sources or {}).get(module.path, module.source)
            uploads.append(Upload(pid, module.path, namespace_source(source, self.namespace)))
        return uploads

    def _start_local(self) -> str:
        binary = find_opa()
        if binary is None:
            raise CheckerError("--engine opa needs an OPA server: install OPA (the `opa` binary on PATH, see "
                               "https://www.openpolicyagent.org/docs/#running-opa) or pass --opa-url URL "
                               "(env CHECKER_OPA_URL)")
        ready_timeout = float(self._options.extra.get("opa_ready_timeout", READY_TIMEOUT))
        self._local = LocalOpa.start(binary, ready_timeout)
        return self._local.url

    def _install(self, server: OpaServer) -> str:
        server.check_health()
        client = server.new_client()
        server.put_data(client, self._policy_set.data)
        self._upload_modules(server, client, [*self._uploads, self._wrapper])
        version = server.read_version(client, f"{self.wrapper_package}/ready")
        if version == "unknown" and self._local is not None:
            version = binary_version(self._local.binary)
        return version

    def _upload_modules(self, server: OpaServer, client: Any, uploads: Sequence[Upload]) -> None:
        """PUT every module; retry the rejected ones while others get in (a module may need a
        helper package that is uploaded after it); what still fails is a policy error."""
        pending = list(uploads)
        while pending:
            rejected: list[tuple[Upload, list[Problem]]] = []
            for upload in pending:
                problems = server.put_policy(client, upload.pid, upload.source)
                if problems:
                    rejected.append((upload, problems))
            if len(rejected) == len(pending):
                problems = [p for _upload, found in rejected for p in found]
                rejected_by = Problem("", None, f"the OPA server at {server.url} rejected the policies above "
                                                f"(PUT /v1/policies)")
                raise PolicyError([*dict.fromkeys(problems), rejected_by])
            pending = [upload for upload, _problems in rejected]

    # -- evaluation

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, RawResult]:
        if self._closed:
            raise EngineError("the OPA engine is closed")
        if not inputs:
            return {}
        keys = [key for key, _document in inputs]
        if len(set(keys)) != len(keys):
            raise EngineError("duplicate input keys in one evaluation")
        batches = [Batch(n, items) for n, items in enumerate(make_batches(inputs))]
        per_server = max(1, min(self._options.jobs, MAX_WORKERS_PER_SERVER, len(batches)))
        workers = [(server, server.new_client()) for server in self._servers for _ in range(per_server)]
        self._dispatcher = Dispatcher(workers, batches, self._evaluate_batch)
        try:
            results = self._dispatcher.run()
        finally:
            self._dispatcher = None
            for server, client in workers:
                server.release(client)
        missing = [key for key in keys if key not in results]
        if missing:
            raise EngineError(f"no result for {len(missing)} input(s) (first: {missing[0]}); the run is incomplete")
        return {key: results[key] for key in keys}

    def _evaluate_batch(self, server: OpaServer, client: Any, batch: Batch) -> dict[str, RawResult]:
        try:
            answer = server.query(client, self.wrapper_package, "results",
                                  {"batch": {key: document for key, document in batch.items}})
        except EvaluationFailed as exc:
            if len(batch.items) > 1:
                raise self._isolate(server, client, batch) from None
            key = batch.items[0][0]
            raise EngineError([Problem(p.file, p.line, f"evaluating group {key}: {p.message}")
                               for p in exc.problems]) from None
        if "result" not in answer:
            raise ServerDown(f"the OPA server at {server.url} no longer serves the run's policies (was it "
                             f"restarted, or were they deleted?)")
        results = answer["result"]
        if not isinstance(results, dict):
            raise EngineError(f"the OPA server at {server.url} answered the batch with {type(results).__name__}, "
                              f"not an object")
        undefined = [key for key, _document in batch.items if not isinstance(results.get(key), dict)]
        if undefined:
            shown = ", ".join(undefined[:5]) + (f" and {len(undefined) - 5} more" if len(undefined) > 5 else "")
            raise EngineError(f"the rules' deny/warn sets came back undefined for group(s) {shown} on "
                              f"{server.url}: every rule family's deny/warn must be a partial set "
                              f"(`deny contains ...`), defined for every input")
        for key, _document in batch.items:
            self._check_shape(server, key, results[key])
        return {key: results[key] for key, _document in batch.items}

    def _check_shape(self, server: OpaServer, key: str, raw: Mapping[str, Any]) -> None:
        """Every family and level the wrapper asks for must be in the answer, as a list: a missing
        one would otherwise read as "no findings"."""
        for rule in self._policy_set.rules.values():
            levels = raw.get(rule.rule_id)
            for level in rule.levels:
                if not isinstance(levels, dict) or not isinstance(levels.get(level), list):
                    raise EngineError(f"the OPA server at {server.url} answered group {key} without a "
                                      f"{rule.rule_id} {level} set; the run is incomplete")

    def _isolate(self, server: OpaServer, client: Any, batch: Batch) -> EngineError:
        """After an evaluation error in a batch, evaluate its groups one by one to name the culprits."""
        problems: list[Problem] = []
        for key, document in batch.items:
            try:
                server.query(client, self.wrapper_package, "results", {"batch": {key: document}})
            except EvaluationFailed as exc:
                problems.extend(Problem(p.file, p.line, f"evaluating group {key}: {p.message}") for p in exc.problems)
        return EngineError(problems or [Problem("", None, f"the OPA server at {server.url} reported an "
                                                          f"evaluation error for a batch, but not for any single "
                                                          f"group of it")])

    # -- the *_test.rego tests

    def run_rego_tests(self, policy_set: PolicySet) -> list[tuple[str, bool, str]]:
        """(name, passed, detail) for every test_* rule: `opa test` when the binary is on PATH,
        else evaluated on the first server after uploading the test modules (namespaced)."""
        if not policy_set.test_modules:
            return []
        binary = find_opa()
        if binary is not None:
            results, _coverage = run_opa_test(binary, policy_set, coverage=False,
                                              timeout=max(self._options.timeout, 300.0))
            return results
        return self._remote_tests(policy_set)

    def coverage(self, policy_set: PolicySet) -> float:
        """The percentage `opa test --coverage` reports (needs the binary on PATH)."""
        binary = find_opa()
        if binary is None:
            raise CheckerError("test coverage needs the `opa` binary on PATH (`opa test --coverage`)")
        _results, percent = run_opa_test(binary, policy_set, coverage=True,
                                         timeout=max(self._options.timeout, 300.0))
        return percent if percent is not None else 0.0

    def _remote_tests(self, policy_set: PolicySet) -> list[tuple[str, bool, str]]:
        server = self._servers[0]
        client = server.new_client()
        planned = distinct_test_rules(policy_set.test_modules)
        if self._test_uploads is None:
            self._test_uploads = self._prepare(policy_set.test_modules, start=len(self._uploads),
                                               sources={path: source for path, (source, _tests) in planned.items()})
            self._upload_modules(server, client, self._test_uploads)
        results = []
        for module in policy_set.test_modules:
            package = module.package
            if package is None:
                continue
            for test in planned[module.path][1]:
                path = "/".join([self.namespace, *package.split("."), test.uploaded])
                label = f"{package}.{test.name}"
                where = f"{module.path}:{test.line}"
                try:
                    answer = server.get_rule(client, path)
                except EvaluationFailed as exc:
                    results.append((label, False, f"{where}: error: {exc}"))
                    continue
                passed, why = rego_test_verdict(answer.get("result"), test.parametrized)
                results.append((label, passed, "" if passed else f"{where}: {why}"))
        return results

    # -- the end

    def close(self) -> None:
        """Remove what this run uploaded and stop a local server; never raises."""
        if self._closed:
            return
        self._closed = True
        if self._dispatcher is not None:
            self._dispatcher.stop()
        for server in self._servers:
            if self._local is None:  # a local server is stopped whole; a shared one is cleaned up
                try:
                    left = server.remove_everything()
                except Exception as exc:  # cleanup must not hide the run's outcome
                    left = [_short(exc)]
                if left:
                    print(f"checker: warning: could not remove from the OPA server at {server.url}: "
                          f"{'; '.join(left)}", file=sys.stderr)
            server.close_clients()
        if self._local is not None:
            self._local.stop()


def rego_test_rules(source: str) -> list[str]:
    """The test_* rules a module defines (rule heads start a line; comment lines start with #)."""
    return list(dict.fromkeys(_TEST_RULE.findall(source)))


@dataclass(frozen=True)
class RegoTest:
    """One definition of a test_* rule."""

    name: str  # as `opa test` reports it: test_x, then test_x#01, test_x#02 for later definitions
    uploaded: str  # the rule name it is uploaded under
    line: int
    parametrized: bool  # test_x[case] ...: a partial object whose every value must be true


def distinct_test_rules(modules: Sequence[Module]) -> dict[str, tuple[str, list[RegoTest]]]:
    """module path -> (its source with later definitions of test rules renamed, its test definitions).

    `opa test` runs each definition of a test rule on its own, counting definitions per package
    across modules (tester.rewriteDuplicateTestNames), while the rule's document is true as soon
    as one definition is: querying it would hide a failing second definition. So the second
    definition of test_x is uploaded as test_x__checker_definition_01 and reported as test_x#01.
    Only rule heads at the start of a line are renamed; lines are unchanged."""
    seen: dict[tuple[str | None, str], int] = {}
    return {module.path: _distinct_tests(module, seen) for module in modules}


def _distinct_tests(module: Module, seen: dict[tuple[str | None, str], int]) -> tuple[str, list[RegoTest]]:
    tests: list[RegoTest] = []

    def rename(match: re.Match[str]) -> str:
        name = match.group(1)
        count = seen[module.package, name] = seen.get((module.package, name), -1) + 1
        uploaded = name if count == 0 else f"{name}{DUPLICATE_TEST_SUFFIX}{count:02d}"
        tests.append(RegoTest(name if count == 0 else f"{name}#{count:02d}", uploaded,
                              module.source.count("\n", 0, match.start()) + 1,
                              module.source.startswith("[", match.end())))
        return uploaded

    return _TEST_RULE.sub(rename, module.source), tests


def rego_test_verdict(value: Any, parametrized: bool) -> tuple[bool, str]:
    """Whether a test rule's value passes, as `opa test` judges it; why not when it does not.

    A plain test passes when it is true. A parametrized one (test_x[case] ...) is a partial
    object: it passes when every case's value is true, nested objects included (tester.subResults)."""
    if not parametrized:
        return (True, "") if value is True else (False, "the test is false or undefined")
    if not isinstance(value, dict):
        return False, "the test is undefined"
    failing = [case for case, passed in _case_results(value) if not passed]
    if failing:
        return False, f"failing case(s): {', '.join(failing[:10])}" + (" ..." if len(failing) > 10 else "")
    return True, ""


def _case_results(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, bool]]:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            yield from _case_results(item, f"{name}/")
        else:
            yield name, item is True


# ---------------------------------------------------------------- `opa test`


def write_test_tree(root: Path, policy_set: PolicySet) -> dict[str, str]:
    """Modules, test modules and data.json under root, as `opa test` loads them.

    Files get short safe names (display paths can be absolute or hold `..`); the merged policy
    data goes to data.json at the root, which OPA merges at the root of `data`, as checker does.
    Returns written path -> display path."""
    names: dict[str, str] = {}
    for index, module in enumerate([*policy_set.modules, *policy_set.test_modules]):
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", module.path.rsplit("/", 1)[-1])
        target = root / "m" / f"{index:03d}_{safe}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(module.source, encoding="utf-8")
        names[str(target)] = module.path
    (root / "data.json").write_text(json.dumps(policy_set.data), encoding="utf-8")
    return names


def replace_paths(text: str, names: Mapping[str, str]) -> str:
    for written in sorted(names, key=len, reverse=True):
        text = text.replace(written, names[written])
    return text


def parse_test_report(report: Any, names: Mapping[str, str]) -> list[tuple[str, bool, str]]:
    """`opa test --format=json` results -> (name, passed, detail); skipped (todo_) tests are left out."""
    results = []
    for item in report if isinstance(report, list) else []:
        if not isinstance(item, dict) or item.get("skip"):
            continue
        package = str(item.get("package") or "").removeprefix("data.")
        name = f"{package}.{item.get('name')}" if package else str(item.get("name"))
        location: dict[str, Any] = item["location"] if isinstance(item.get("location"), dict) else {}
        where = names.get(str(location.get("file") or ""), str(location.get("file") or ""))
        if where and location.get("row"):
            where = f"{where}:{location['row']}"
        error = item.get("error")
        passed = not item.get("fail") and not error
        detail = ""
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            detail = f"{where}: error: {replace_paths(str(message or error), names)}"
        elif not passed:
            detail = f"{where}: the test is false or undefined"
        output = item.get("output")
        if not passed and isinstance(output, str) and output:
            with contextlib.suppress(ValueError):
                printed = base64.b64decode(output).decode("utf-8", "replace").strip()
                detail += f"\n    printed: {printed[:500]}"
        results.append((name, passed, detail))
    return results


def run_opa_test(binary: str, policy_set: PolicySet, coverage: bool, timeout: float
                 ) -> tuple[list[tuple[str, bool, str]], float | None]:
    """Run `opa test --format=json [--coverage]` over the policy set in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="checker-opa-test-") as tmp:
        names = write_test_tree(Path(tmp), policy_set)
        command = [binary, "test", "--format=json", *(["--coverage"] if coverage else []), tmp]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EngineError(f"`opa test` did not finish within {timeout:g}s") from None
        except OSError as exc:
            raise EngineError(f"could not run {binary!r}: {exc}") from None
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            text = replace_paths(f"{proc.stdout}\n{proc.stderr}".strip(), names)
            if coverage and "FAIL" in text:
                raise PolicyError([Problem("", None, "coverage is reported only when every *_test.rego test "
                                                     "passes; failing tests:\n" + text[:4000])]) from None
            raise PolicyError(_loading_problems(text)) from None
    if coverage:
        percent = report.get("coverage") if isinstance(report, dict) else None
        return [], float(percent) if isinstance(percent, int | float) else None
    return parse_test_report(report, names), None


_LOAD_ERROR = re.compile(r"(?:^|: |\s)(?P<file>[^\s:]+\.rego):(?P<line>\d+):\s*(?P<message>.+)$")


def _loading_problems(text: str) -> list[Problem]:
    """`opa test`'s load errors ("file:line: rego_parse_error: ...") as Problems with file and line."""
    problems = []
    for line in text.splitlines():
        match = _LOAD_ERROR.search(line)
        if match:
            problems.append(Problem(match.group("file"), int(match.group("line")), match.group("message")))
    return problems or [Problem("", None, f"`opa test` failed: {text[:2000] or '(no output)'}")]
