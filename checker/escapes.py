"""Text from inventories, policies and file names, made safe to print on a terminal or a CI log (pure).

A file name or message can hold anything: an escape sequence that repaints the terminal, a newline
followed by `::warning ...::` that a GitHub runner reads as a workflow command, a bidirectional
override that shows text in another order than it runs. Printed text never carries them raw: each
becomes a visible escape (`\\x1b`, `\\n`, `\\u202e`), as Python's repr writes them.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; line and paragraph separators (line breaks to some viewers); the
# bidirectional controls (trojan-source reordering) and the byte order mark.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control, separator and bidi character written as a visible escape."""
    if _UNSAFE.search(text) is None:  # the common case, and the fast one
        return text
    return _UNSAFE.sub(_visible, text)
