"""SPEC §2 dates, in the inventory and on the command line: one error, in words, never a crash."""

from __future__ import annotations

import pytest

from checker import dates
from tests.conftest import run_checker


@pytest.mark.parametrize(("text", "words"), [
    ("2026-11-29", None), ("1900-01-01", None), ("2199-12-31", None),
    ("2026-13-01", "is not a real date"), ("2026-02-29", "is not a real date"),
    ("2026-1-5", "is not a YYYY-MM-DD date"), ("20261129", "is not a YYYY-MM-DD date"),
    ("2026-11-29\n", "is not a YYYY-MM-DD date"), ("1899-12-31", "is not between 1900-01-01 and 2199-12-31"),
    ("2262-04-12", "is not between 1900-01-01 and 2199-12-31"),
])
def test_date_problem(text: str, words: str | None) -> None:
    assert dates.problem(text) == words


@pytest.mark.parametrize(("as_of", "words"), [("2026-13-01", "is not a real date"),
                                               ("2300-01-01", "is not between 1900-01-01 and 2199-12-31"),
                                               ("2026-1-1", "is not a YYYY-MM-DD date")])
def test_as_of_says_what_is_wrong(as_of: str, words: str) -> None:
    proc = run_checker("validate", "--as-of", as_of)
    assert proc.returncode == 2 and f"{as_of!r} {words}" in proc.stderr
