"""Snapshot notes stay readable on a big tenant: long lists are cut, and the cut is counted."""

from __future__ import annotations

from collections.abc import Sequence

MOST = 20


def few(names: Sequence[str], most: int = MOST) -> str:
    """'a, b, c' or 'a, b, ... and 12 more'."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def capped(lines: Sequence[str], more: str, most: int = MOST) -> list[str]:
    """The first `most` lines, then one line counting the rest: `more` formatted with the count."""
    return list(lines[:most]) + ([more.format(len(lines) - most)] if len(lines) > most else [])
