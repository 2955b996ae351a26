"""What the terminal can show, decided by rich: width, colour, character cells; and text wrapped to fit.

rich knows the terminal (TTY detection, `FORCE_COLOR`, `NO_COLOR`, `TERM=dumb`), the ANSI codes of a
style and how many cells a character takes (wide East Asian characters take two). The lines themselves
are laid out here, not as a rich Table: rich's Table takes about 11 s for the 21,530 findings of the
10,000-group benchmark org, where the whole JSON report takes 0.2 s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from rich.cells import cell_len, chop_cells
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style

MIN_WIDTH = 20  # below this a terminal width is taken to be a mistake

STYLES: Mapping[str, str] = {
    "file": "bold", "line": "dim", "deny": "bold red", "warn": "yellow", "waived": "dim",
    "rule": "cyan", "muted": "dim", "heading": "bold", "introduced": "bold red", "worsened": "bold red",
    "exceptions": "bold magenta", "resolved": "bold green", "unchanged": "bold", "fails": "bold red",
    "passes": "bold green",
}


@dataclass(frozen=True)
class Terminal:
    """Where the report goes: its width (None: do not wrap) and the codes that start and end each style."""

    width: int | None
    codes: Mapping[str, tuple[str, str]]

    @property
    def color(self) -> bool:
        return bool(self.codes)

    def paint(self, text: str, style: str) -> str:
        if not self.codes or not text:
            return text
        start, end = self.codes[style]
        return start + text + end


def _columns(stream: TextIO) -> int | None:
    """COLUMNS if set, else the real width of a terminal, else None (a pipe or a file: lines stay whole)."""
    value = os.environ.get("COLUMNS", "").strip()
    if value.isdigit() and int(value) > 0:
        return max(int(value), MIN_WIDTH)
    try:
        if stream.isatty():
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
    except (OSError, ValueError):  # not a real file descriptor, or closed
        pass
    return None


def open_terminal(stream: TextIO, color: str = "auto", width: int | None = None) -> Terminal:
    """A Terminal for `stream`: `color` is auto (a terminal without NO_COLOR), always or never."""
    width = max(width, MIN_WIDTH) if width else _columns(stream)
    probe = Console(file=stream)  # what rich sees: a terminal, FORCE_COLOR, NO_COLOR, TERM=dumb
    styled = color == "always" or (color == "auto" and probe.is_terminal and probe.color_system is not None
                                   and not probe.no_color)
    codes: dict[str, tuple[str, str]] = {}
    if styled:
        for name, spec in STYLES.items():
            start, _, end = Style.parse(spec).render("\0", color_system=ColorSystem.STANDARD).partition("\0")
            codes[name] = (start, end)
    return Terminal(width, codes)


def cells(text: str) -> int:
    """How many character cells `text` takes (ASCII, the common case, is one a character)."""
    return len(text) if text.isascii() else cell_len(text)


def wrap(text: str, width: int | None) -> list[str]:
    """Greedy word wrap by character cells; a word wider than the line is cut. At least one line."""
    if width is None or cells(text) <= width:
        return [text]
    if text.isascii():
        return _wrap_ascii(text, width)
    lines: list[str] = []
    line, used = "", 0
    for word in text.split(" "):
        size = cell_len(word)
        if used and used + 1 + size <= width:
            line, used = f"{line} {word}", used + 1 + size
            continue
        if used:
            lines.append(line)
        if size > width:
            *whole, word = chop_cells(word, width)
            lines.extend(whole)
            size = cell_len(word)
        line, used = word, size
    lines.append(line)
    return lines


def _wrap_ascii(text: str, width: int) -> list[str]:
    """wrap() for ASCII text, one rfind a line: the report wraps tens of thousands of messages."""
    lines = []
    start, end = 0, len(text)
    while end - start > width:
        cut = text.rfind(" ", start, start + width + 1)
        if cut <= start:  # no space to break at: cut the word
            lines.append(text[start:start + width])
            start += width
        else:
            lines.append(text[start:cut].rstrip(" "))
            start = cut + 1
    lines.append(text[start:])
    return lines


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` character cells (wide characters count two)."""
    return text + " " * (width - cells(text))
