"""Reporters: one module per format, each `render(result, stream)` over a finished RunResult."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Protocol, TextIO

from checker.errors import CheckerError
from checker.models import RunResult

# format name -> module under checker.report
FORMATS = {
    "table": "table",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "markdown": "markdown",
    "junit": "junit",
    "html": "html",
}
# Formats read by people in a terminal: they also take a Display.
DISPLAY_FORMATS = frozenset({"table"})
COLOR_CHOICES = ("auto", "always", "never")


@dataclass(frozen=True)
class Display:
    """How a report for people looks; formats for machines ignore it."""

    color: str = "auto"  # auto: on a terminal without NO_COLOR; always; never
    show_unchanged: bool = False  # diff: list unchanged findings instead of counting them
    width: int | None = None  # None: COLUMNS, else the terminal's width, else no wrapping


class Reporter(Protocol):
    def __call__(self, result: RunResult, stream: TextIO) -> None: ...


def get(name: str, display: Display | None = None) -> Reporter:
    if name not in FORMATS:
        raise CheckerError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"checker.report.{FORMATS[name]}")
    if name in DISPLAY_FORMATS:
        return functools.partial(module.render, display=display or Display())
    return module.render  # type: ignore[no-any-return]
