"""What the Google and Microsoft fakes share: faults served in place of answers, and serving on
127.0.0.1 in a background thread for the length of a `with` block."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
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
