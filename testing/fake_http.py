"""A tiny JSON HTTP server on 127.0.0.1 for the platform fakes: real sockets, real HTTP, so the
platforms' SDKs run unchanged against it. Faults are queued per path and served before the data."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeApi:
    """Subclasses implement `answer(request) -> Reply`; `fail(path, reply, after=n)` queues a fault
    for the (n+1)-th request to `path` (after n good ones), served once."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._faults: dict[str, list[tuple[int, Reply]]] = {}
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def fail(self, path: str, reply: Reply, after: int = 0) -> None:
        self._faults.setdefault(path, []).append((after, reply))

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def handle(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            count = self._seen.get(request.path, 0)
            self._seen[request.path] = count + 1
            for i, (after, reply) in enumerate(self._faults.get(request.path, [])):
                if after == count:
                    del self._faults[request.path][i]
                    return reply
        return self.answer(request)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)


@contextmanager
def serve(api: FakeApi) -> Iterator[str]:
    """Run the fake on a free port of 127.0.0.1; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            if raw:
                try:  # some SDK calls send JSON without saying so
                    body = json.loads(raw)
                except ValueError:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            request = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, body)
            reply = api.handle(request)
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _any

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
