"""Rego shapes the embedded engine (regopy 1.5.2) evaluates silently wrong, found on the token stream.

Inside a comprehension in a function, rego-cpp treats a bare function argument used as a
reference key as unbound: `f(j) := {x | some x in data.js[j]}` returns every entry's values,
not those of `j` (so does `x == data.js[j]` in the comprehension's body). Bound to a local
first (`k := j`), or with `j.id` as the key, the same comprehension is right. A policy with
the broken shape is refused rather than run, like a builtin that fails its known answers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from checker.rego_scan import Token, _bracket_pairs, _depths, _head_start, tokenize


def _parameters(tokens: Sequence[Token], open_at: int, close_at: int) -> set[str]:
    """The function's arguments that are bare variables (not `_`, not literals or patterns)."""
    names: set[str] = set()
    argument: list[Token] = []
    for tok in [*tokens[open_at + 1:close_at], None]:
        if tok is None or (tok.kind == "punct" and tok.text == ","):
            if len(argument) == 1 and argument[0].kind == "ident" and argument[0].text != "_":
                names.add(argument[0].text)
            argument = []
        else:
            argument.append(tok)
    return names


def _is_comprehension(tokens: Sequence[Token], depths: list[int], open_at: int, close_at: int) -> bool:
    inner = depths[open_at] + 1
    return any(tokens[k].text == "|" and depths[k] == inner for k in range(open_at + 1, close_at))


def _ref_bracket(tokens: Sequence[Token], k: int) -> bool:
    """Whether tokens[k] is the `[` of a reference (`x[`, `f(y)[`, `a[0][`), not an array literal."""
    if tokens[k].text != "[" or k == 0:
        return False
    before = tokens[k - 1]
    return before.end == tokens[k].start and (before.kind == "ident" or before.text in (")", "]"))


def argument_key_problems(source: str) -> list[tuple[int, str, str]]:
    """(line, argument, why) for each function argument used as a bare key inside a comprehension."""
    tokens = tokenize(source)
    depths = _depths(tokens)
    pairs = {opener: closer for closer, opener in _bracket_pairs(tokens, "[({").items()}
    heads = [i for i in range(len(tokens)) if _head_start(tokens, depths, i)] + [len(tokens)]
    found: list[tuple[int, str, str]] = []
    for start, end in itertools.pairwise(heads):
        paren = start + 1
        if paren >= end or tokens[paren].text != "(" or tokens[start].end != tokens[paren].start or paren not in pairs:
            continue  # not a function head
        params = _parameters(tokens, paren, pairs[paren])
        if not params:
            continue
        flagged: set[int] = set()
        for open_at in range(pairs[paren] + 1, end):
            close_at = pairs.get(open_at)
            if close_at is None or tokens[open_at].text == "(":
                continue
            if not _is_comprehension(tokens, depths, open_at, close_at):
                continue
            for k in range(open_at + 1, close_at - 2):
                key = tokens[k + 1]
                if (_ref_bracket(tokens, k) and key.kind == "ident" and key.text in params
                        and tokens[k + 2].text == "]" and k + 1 not in flagged):
                    flagged.add(k + 1)
                    found.append((key.line, key.text,
                                  f"the function argument {key.text} is used as a key inside a comprehension, "
                                  f"which the embedded engine reads as unbound (silently wrong results): bind "
                                  f"it first (`k := {key.text}`) and use k — or use --engine opa"))
    return found
