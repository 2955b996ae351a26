"""A one-line progress bar on standard error, only for long runs on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MIN_ITEMS = 500  # shorter runs finish before a bar would help
INTERVAL = 0.25


class Progress:
    def __init__(self, label: str, total: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total >= MIN_ITEMS
        self._start = time.monotonic()
        self._shown = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._shown >= INTERVAL or self.done >= self.total):
            self._shown = now
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            rate = self.done / max(now - self._start, 1e-9)
            left = (self.total - self.done) / rate if rate else 0.0
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done:,}/{self.total:,} groups, {left:4.0f} s left ")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
