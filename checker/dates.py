"""SPEC §2 dates: real YYYY-MM-DD calendar dates from 1900-01-01 to 2199-12-31.

The range keeps every date inside what policies can turn into nanoseconds since 1970 (an int64
holds 1677 to 2262), so a far date is an input error with its line, not a failed evaluation.
"""

from __future__ import annotations

import datetime as dt
import re

FIRST = dt.date(1900, 1, 1)
LAST = dt.date(2199, 12, 31)
_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def problem(value: str) -> str | None:
    """Why `value` is not a SPEC §2 date, in words that follow it; None when it is one."""
    if not _SHAPE.fullmatch(value):
        return "is not a YYYY-MM-DD date"
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return "is not a real date"
    if not FIRST <= day <= LAST:
        return f"is not between {FIRST} and {LAST}"
    return None
