"""Calls to one OPA server over its REST API (see the package docstring for which go through
opa-python-client and which through plain `requests`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from opa_client.errors import PolicyNotFoundError, RegoParseError

from checker.engines.opa.deadline import DeadlineOpaClient, DeadlineSession
from checker.engines.opa.messages import (
    EVAL_ERROR_MESSAGE,
    EvaluationFailed,
    ServerDown,
    auth_message,
    clean_message,
    json_body,
    looks_like_eval_error,
    opa_problems,
    timeout_message,
    unreachable_message,
)
from checker.errors import CheckerError, EngineError, Problem


class OpaServer:
    """Calls to one OPA server; each worker thread gets its own client (its own HTTP session)."""

    def __init__(self, url: str, token: str | None, timeout: float, namespace: str,
                 names: Mapping[str, str]) -> None:
        try:
            parts = urlsplit(url.strip())
            hostname = parts.hostname
        except ValueError as exc:  # "Invalid IPv6 URL"
            raise CheckerError(f"--opa-url {url!r} is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not hostname:
            raise CheckerError(f"--opa-url {url!r} is not an http(s) URL such as http://opa.internal:8181")
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise CheckerError(f"--opa-url {url!r} has an invalid port") from None
        self.url = url.strip().rstrip("/")
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._host = hostname
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
        client = DeadlineOpaClient(deadline=self.timeout, host=self._host, port=self._port, ssl=self._ssl,
                                   token=self.token, timeout=self.timeout, retries=1)
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
            self.fail_status(what, exc.response.status_code, json_body(exc.response))
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
        response = getattr(exc, "response", None)
        status = f"HTTP {response.status_code}" if isinstance(response, requests.Response) else "an answer"
        if type(exc).__module__.startswith("opa_client"):  # a status or body OPA's API does not give
            raise EngineError(f"the OPA server at {self.url} answered {what} with {status} that is not OPA's "
                              f"protocol ({type(exc).__name__}: {short_error(exc)}): is --opa-url the address of an "
                              f"OPA server?") from None
        raise exc

    def fail_status(self, what: str, status: int, body: Mapping[str, Any]) -> NoReturn:
        if status in (401, 403):
            raise EngineError(auth_message(self.url, status, bool(self.token)))
        if looks_like_eval_error(status, body):
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
        with self.calling("GET /health"):
            response = self._get("/health")
        if response.status_code == 200:
            return
        if response.status_code in (401, 403):
            raise EngineError(auth_message(self.url, response.status_code, bool(self.token)))
        raise EngineError(f"the OPA server at {self.url} is not healthy: GET /health answered HTTP "
                          f"{response.status_code}; is --opa-url the address of an OPA server, and is it ready?")

    def probe_version(self) -> str:
        """The server's OPA version, read before anything is uploaded (?provenance on a document that
        does not exist): what results from this server are cached under."""
        self.check_health()
        what = "GET /v1/data?provenance"
        with self.calling(what):
            response = self._get(f"/v1/data/{self.namespace}?provenance=true")
        if response.status_code != 200:
            self.fail_status(what, response.status_code, json_body(response))
        provenance = json_body(response).get("provenance")
        version = provenance.get("version") if isinstance(provenance, dict) else None
        if not isinstance(version, str) or not version:
            raise EngineError(f"the OPA server at {self.url} did not say which OPA version it runs ({what}): "
                              f"is --opa-url the address of an OPA server?")
        return version

    def _get(self, path: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        with DeadlineSession(self.timeout) as session:
            return session.get(f"{self.base}{path}", headers=headers, timeout=self.timeout)

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
                left = [f"policy {pid} ({short_error(exc)})" for pid, exc in failed]
                break
            pending = [pid for pid, _exc in failed]
        self.policy_ids = [pid for pid in self.policy_ids if any(pid in item for item in left)]
        if self.data_uploaded:
            try:
                client.delete_data(self.namespace)
            except Exception as exc:
                if not _already_gone(exc):
                    left.append(f"data /{self.namespace} ({short_error(exc)})")
            self.data_uploaded = any(item.startswith("data /") for item in left)
        return left


def _already_gone(exc: BaseException) -> bool:
    """OPA's 404 on a delete: not there any more (the server restarted, or someone removed it)."""
    return getattr(exc, "expression", None) == "resource_not_found"


def short_error(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)[:200]
