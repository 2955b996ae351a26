"""What the Google and Microsoft fakes share: faults served in place of answers, and serving on
127.0.0.1 in a background thread for the length of a `with` block."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Fault:
    """Answer the `nth` call (1-based) whose path matches `path` with `status`, `body` and `headers`,
    `times` times in a row."""

    path: str  # a regular expression searched in the request path
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    nth: int = 1
    times: int = 1


class FaultyFake:
    """A fake API server; subclasses set `server`, `tenant` (whose `faults` a test may replace),
    `calls` and `lock` in their __init__."""

    server: ThreadingHTTPServer
    tenant: Any
    calls: Counter[str]  # exact path -> count, for faults
    lock: threading.Lock

    def fault_for(self, path: str) -> Fault | None:
        with self.lock:
            self.calls[path] += 1
            faults: Sequence[Fault] = self.tenant.faults
            for fault in faults:
                if re.search(fault.path, path):
                    matching = sum(n for p, n in self.calls.items() if re.search(fault.path, p))
                    if fault.nth <= matching < fault.nth + fault.times:
                        return fault
        return None

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class JsonHandler(BaseHTTPRequestHandler):
    """Quiet HTTP/1.1 answers with a JSON body; subclasses name their API's content type."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)
    content_type = "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
