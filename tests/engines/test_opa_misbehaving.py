"""OPA servers that misbehave: a run ends with exit 2 and a message, never hangs, never a traceback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from checker.engines import EngineOptions, static_info
from checker.engines.opa.engine import OpaEngine
from checker.errors import CheckerError, EngineError
from tests.conftest import ROOT, run_checker
from tests.engines.test_opa_server import Answer, StubServer, group, protocol, small_policy_set, stub

__all__ = ["stub"]  # the fixture, used by name


class DrippingServer:
    """OPA's protocol (tests.engines.test_opa_server.protocol), except that the requests `drips` picks
    are answered one byte every `interval` seconds, each byte well within any socket timeout."""

    def __init__(self, interval: float, drips: Callable[[str, str], bool] = lambda _method, _path: True) -> None:
        self.requests: list[tuple[str, str]] = []
        server = self
        answer = protocol(query=lambda body: (200, {"result": {k: {"too-big": {"deny": []}}
                                                                for k in body["input"]["batch"]}}))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path))
                if drips(self.command, self.path):
                    self._drip()
                    return
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:  # a policy upload is Rego text
                    body = raw.decode()
                status, reply = answer(self.command, self.path, body, {})
                data = b"" if reply is None else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drip(self) -> None:
                for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 50:
                    if server.stopped.wait(interval):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            do_GET = do_PUT = do_POST = do_DELETE = _handle

            def log_message(self, *_args: Any) -> None:
                pass

        self.stopped = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def dripping() -> Iterator[DrippingServer]:
    server = DrippingServer(interval=0.2)
    yield server
    server.close()


def test_a_server_dripping_bytes_cannot_hold_the_run(dripping: DrippingServer) -> None:
    # Each byte comes well within the 1 s socket timeout; only a deadline per request ends it.
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        OpaEngine(small_policy_set(), EngineOptions(opa_urls=(dripping.url,), timeout=1.0))
    assert time.monotonic() - started < 8
    assert f"the OPA server at {dripping.url} did not answer GET /health within 1s" in str(caught.value)


def test_the_start_probe_has_the_same_deadline(dripping: DrippingServer) -> None:
    started = time.monotonic()
    with pytest.raises(EngineError, match="did not answer GET /health within 1s"):
        static_info("opa", EngineOptions(opa_urls=(dripping.url,), timeout=1.0))
    assert time.monotonic() - started < 8


def test_a_batch_answer_dripping_fails_the_run_in_time() -> None:
    server = DrippingServer(interval=0.2, drips=lambda method, _path: method == "POST")
    try:
        engine = OpaEngine(small_policy_set(), EngineOptions(opa_urls=(server.url,), timeout=1.0))
        try:
            started = time.monotonic()
            with pytest.raises(EngineError, match=r"did not answer POST /v1/data/checker_batch_.* within 1s"):
                engine.evaluate([("g1", group("g1", 1))])
            assert time.monotonic() - started < 8
        finally:
            engine.close()
    finally:
        server.close()
    assert ("POST" in {method for method, _path in server.requests})


def test_the_cli_ends_with_exit_2_against_a_dripping_server(dripping: DrippingServer) -> None:
    proc = run_checker("audit", "--engine", "opa", "--opa-url", dripping.url, "--inventories",
                       str(ROOT / "inventories"), "--policies", str(ROOT / "policies"), "--no-cache",
                       env={"CHECKER_OPA_TIMEOUT": "1"})
    assert proc.returncode == 2, proc.stderr
    assert "did not answer GET /health within 1s" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- protocol violations (issue 9 point 14)


def test_200_instead_of_204_on_a_data_upload_is_a_clear_error(stub: Callable[..., StubServer]) -> None:
    def answer(method: str, path: str, body: Any, headers: dict[str, str]) -> Answer:
        if method == "PUT" and path.startswith("/v1/data/"):
            return 200, {"unexpected": True}
        return protocol()(method, path, body, headers)

    server = stub(answer)
    with pytest.raises(EngineError) as caught:
        OpaEngine(small_policy_set(), EngineOptions(opa_urls=(server.url,), timeout=5))
    assert (f"the OPA server at {server.url} answered uploading the policy data (PUT /v1/data) with an answer "
            f"that is not OPA's protocol") in str(caught.value)


def test_an_answer_with_a_rule_not_asked_for_is_an_error(stub: Callable[..., StubServer]) -> None:
    def query(body: Any) -> Answer:
        return 200, {"result": {key: {"too-big": {"deny": []}, "forged": {"deny": ["x"]}}
                                for key in body["input"]["batch"]}}

    server = stub(protocol(query=query))
    engine = OpaEngine(small_policy_set(), EngineOptions(opa_urls=(server.url,), timeout=5))
    try:
        with pytest.raises(EngineError, match="answered group g1 with forged, which checker did not ask for"):
            engine.evaluate([("g1", group("g1", 1))])
    finally:
        engine.close()


def test_an_answer_with_a_level_not_asked_for_is_an_error(stub: Callable[..., StubServer]) -> None:
    def query(body: Any) -> Answer:
        return 200, {"result": {key: {"too-big": {"deny": [], "warn": ["x"]}} for key in body["input"]["batch"]}}

    server = stub(protocol(query=query))
    engine = OpaEngine(small_policy_set(), EngineOptions(opa_urls=(server.url,), timeout=5))
    try:
        with pytest.raises(EngineError, match="answered group g1 with too-big warn, which checker did not ask for"):
            engine.evaluate([("g1", group("g1", 1))])
    finally:
        engine.close()


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999", "http://host:port"])
def test_a_malformed_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(CheckerError, match="--opa-url"):
        static_info("opa", EngineOptions(opa_urls=(url,)))
    proc = run_checker("audit", "--engine", "opa", "--opa-url", url, "--inventories", str(ROOT / "inventories"),
                       "--policies", str(ROOT / "policies"), "--no-cache")
    assert proc.returncode == 2 and "--opa-url" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
