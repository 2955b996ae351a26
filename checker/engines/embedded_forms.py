"""Call forms: narrower call shapes of a builtin, recognised from the call site's argument tokens.

A builtin that fails its known answers somewhere may still be right in a narrower form
(format_int(_, 10), concat over an array): known-answer tests tagged with a form vouch for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from checker.rego_scan import Call, Token

_ARRAY_BUILTINS = frozenset({"sort", "array.concat", "array.slice", "array.reverse", "split", "regex.split"})


def _single_token(arg: tuple[Token, ...], text: str) -> bool:
    return len(arg) == 1 and arg[0].text == text


def _string_literal(arg: tuple[Token, ...]) -> str | None:
    """The source text between the quotes if arg is one plain string literal, else None."""
    if len(arg) == 1 and arg[0].kind == "string" and len(arg[0].text) >= 2:
        return arg[0].text[1:-1]
    return None


def _non_empty_literal(arg: tuple[Token, ...]) -> bool:
    return bool(_string_literal(arg))


def _plain_pattern(arg: tuple[Token, ...]) -> bool:
    """A literal regex without inline flags `(?...)` or Unicode classes, which regopy rejects."""
    pattern = _string_literal(arg)
    return pattern is not None and pattern != "" and not any(bad in pattern for bad in ("(?", "\\p", "\\P"))


def _spans_whole(arg: tuple[Token, ...], first: int) -> bool:
    """Whether the bracket opened at arg[first] closes exactly at the last token of arg."""
    depth = 0
    for i, tok in enumerate(arg[first:], start=first):
        if tok.kind == "punct" and tok.text in "([{":
            depth += 1
        elif tok.kind == "punct" and tok.text in ")]}":
            depth -= 1
            if depth == 0:
                return i == len(arg) - 1
    return False


def _is_array_term(arg: tuple[Token, ...]) -> bool:
    """An array literal/comprehension, or a call of a builtin that always returns an array."""
    if not arg:
        return False
    if arg[0].text == "[":
        return _spans_whole(arg, 0)
    for k in range(len(arg)):
        if arg[k].text == "(":
            name = "".join(t.text for t in arg[:k])
            return name in _ARRAY_BUILTINS and _spans_whole(arg, k)
    return False


def _message_format(arg: tuple[Token, ...]) -> bool:
    """A literal format string whose only verbs are plain %s, %d and %v (no flags, widths or precision)."""
    text = _string_literal(arg)
    if text is None:
        return False
    verbs = re.findall(r"%(.)", text.replace("%%", ""))
    return all(verb in "sdv" for verb in verbs)


# The sprintf message form is accepted with known divergences that change message text only,
# never whether a finding exists (they are the untagged sprintf known-answer tests): %d above
# 2^31 overflows, %s of a non-string is rendered differently, and %v orders a set differently
# when one of its strings is a prefix of another. Policies must not compare sprintf output.
FORM_MATCHERS: dict[str, Callable[[Call], bool]] = {
    'sprintf("%s %d %v", _)': lambda c: len(c.args) == 2 and _message_format(c.args[0]),
    "concat(_, array)": lambda c: len(c.args) == 2 and _is_array_term(c.args[1]),
    "format_int(_, 10)": lambda c: len(c.args) == 2 and _single_token(c.args[1], "10"),
    'time.parse_ns("2006-01-02", _)': lambda c: len(c.args) == 2 and _single_token(c.args[0], '"2006-01-02"'),
    "replace(_, non-empty literal, _)": lambda c: len(c.args) == 3 and _non_empty_literal(c.args[1]),
    "regex.split(literal pattern, _)": lambda c: len(c.args) == 2 and _plain_pattern(c.args[0]),
    "regex.match(literal pattern, _)": lambda c: len(c.args) == 2 and _plain_pattern(c.args[0]),
    "regex.find_n(literal pattern, _, _)": lambda c: len(c.args) == 3 and _plain_pattern(c.args[0]),
    "regex.find_all_string_submatch_n(literal pattern, _, _)": (
        lambda c: len(c.args) == 3 and _plain_pattern(c.args[0])
    ),
    "regex.replace(_, literal pattern, _)": lambda c: len(c.args) == 3 and _plain_pattern(c.args[1]),
}


def form_builtin(form: str) -> str:
    """The builtin a form belongs to: the name before its `(`."""
    return form.split("(", 1)[0]
