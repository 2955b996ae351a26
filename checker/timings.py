"""Phase timings on standard error when CHECKER_TIMINGS is set (for benchmarks and profiling)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    if not os.environ.get("CHECKER_TIMINGS"):
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        print(f"checker: timing: {name}: {time.perf_counter() - start:.2f} s", file=sys.stderr)
