"""Rate limits waited out as the platform asks, within one bounded total time per snapshot (SPEC §8)."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

from checker.platforms import PlatformError

MAX_BACKOFF = 64.0  # seconds between tries when the platform names no time


class RetryBudget:
    """The total time a snapshot may spend waiting for rate limits; past it the snapshot fails (exit 2)."""

    def __init__(self, max_wait_seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.left = max_wait_seconds
        self.waited = 0.0
        self.waits = 0
        self._sleep = sleep

    def delay(self, retry_after: str | None, attempt: int) -> float:
        """Retry-After (seconds or an HTTP date) where given, else exponential backoff with jitter."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked
        return min(MAX_BACKOFF, 2.0 ** attempt) + random.random()

    def take(self, seconds: float, what: str) -> float:
        """Claim `seconds` of the budget, or PlatformError when it would run out."""
        if seconds > self.left:
            raise PlatformError(f"{what}: still rate limited; waiting {seconds:.0f} s more would pass the limit "
                                f"of {self.waited + self.left:.0f} s for rate limits (waited {self.waited:.0f} s)")
        self.left -= seconds
        self.waited += seconds
        self.waits += 1
        return seconds

    def wait(self, seconds: float, what: str) -> None:
        self._sleep(self.take(seconds, what))


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
