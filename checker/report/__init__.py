"""Reporters: one module per format, each `render(result, stream)` over a finished RunResult."""

from __future__ import annotations

import importlib
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


class Reporter(Protocol):
    def __call__(self, result: RunResult, stream: TextIO) -> None: ...


def get(name: str) -> Reporter:
    if name not in FORMATS:
        raise CheckerError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"checker.report.{FORMATS[name]}")
    return module.render  # type: ignore[no-any-return]
