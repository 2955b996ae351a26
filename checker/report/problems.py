"""The report of a run that could not be completed (exit 2), in the format that was asked for (SPEC §6,
§7, §9): a broken inventory shows up where the findings would have.

Each format module that can say so has `render_problems(command, problems, stream)`; this module
lists them and adds the two that only need a line or a page (table: stderr already has every
problem; html: a short page, so a report link never points at nothing).
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable, Sequence
from typing import TextIO

from checker.errors import Problem

ProblemReporter = Callable[[str, Sequence[Problem], TextIO], None]

# format name -> module under checker.report with render_problems, or None for the ones below
PROBLEM_FORMATS: dict[str, str | None] = {
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "markdown": "markdown",
    "junit": "junit",
    "table": None,
    "html": None,
}


def _table(_command: str, _problems: Sequence[Problem], _stream: TextIO) -> None:
    """Nothing on standard output: the problems are on stderr, where a terminal user reads them."""


def _html(command: str, problems: Sequence[Problem], stream: TextIO) -> None:
    items = "\n".join(f"<li>{html.escape(str(problem))}</li>" for problem in problems)
    stream.write(f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>checker {command}: "
                 f"could not be run</title></head>\n<body><h1>checker {html.escape(command)} could not be run "
                 f"(exit 2)</h1>\n<ul>\n{items}\n</ul></body></html>\n")


def get(format_name: str) -> ProblemReporter:
    module = PROBLEM_FORMATS.get(format_name)
    if module is None:
        return _html if format_name == "html" else _table
    return importlib.import_module(f"checker.report.{module}").render_problems  # type: ignore[no-any-return]
