"""The small pure helpers both connectors share: attribute mapping, Retry-After, the wait budget, notes."""

from __future__ import annotations

import email.utils
import time

import pytest

from checker.platforms import PlatformError, people
from checker.platforms.notes import capped, few
from checker.platforms.waiting import RetryBudget, parse_retry_after


@pytest.mark.parametrize(("label", "employment"), [
    ("Full-time", "employee"), ("  FULL   time ", "employee"), ("Employee", "employee"), ("Contractor", "contractor"),
    ("Temp", "contractor"), ("Vendor", "vendor"), ("Intern", None), ("", None), (None, None),
])
def test_employment(label: str | None, employment: str | None) -> None:
    assert people.employment(label) == employment


@pytest.mark.parametrize(("value", "code"), [
    ("us", "US"), ("DE", "DE"), ("Germany", "DE"), ("united kingdom", "GB"), ("USA", "US"), ("XX", None),
    ("Atlantis", None), (" ", None), (None, None),
])
def test_country(value: str | None, code: str | None) -> None:
    assert people.country(value) == code


def test_retry_after_seconds_or_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_budget_is_shared_and_bounded() -> None:
    slept: list[float] = []
    budget = RetryBudget(10, sleep=slept.append)
    budget.wait(4, "a")
    budget.wait(6, "b")
    with pytest.raises(PlatformError, match="c: still rate limited; waiting 1 s more would pass the limit of 10 s"):
        budget.wait(1, "c")
    assert slept == [4, 6] and budget.waits == 2
    assert 1 <= budget.delay(None, 0) < 2 and budget.delay(None, 10) < 66  # backoff, capped


def test_notes_are_cut() -> None:
    assert few(["a", "b", "c"], most=2) == "a, b and 1 more"
    assert capped(["x", "y", "z"], "{} more", most=1) == ["x", "2 more"]
