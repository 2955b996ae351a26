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


class Tally:
    """Phases that recur (once per chunk of files), added up and printed once by report()."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[name] = self._seconds.get(name, 0.0) + time.perf_counter() - start

    def report(self) -> None:
        if os.environ.get("CHECKER_TIMINGS"):
            for name, seconds in self._seconds.items():
                print(f"checker: timing: {name}: {seconds:.2f} s", file=sys.stderr)
