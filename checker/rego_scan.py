"""Lexer-level scanner for Rego source: function calls, definitions, package, imports, keywords.

This is deliberately not a parser. It tokenizes Rego the way OPA's scanner does (comments,
"..." strings with escapes, `...` raw strings, $"..." / $`...` template strings whose
{expressions} are code) and recognises a few shapes on the token stream. When in doubt it
reports more calls, never fewer: a missed builtin call could let a policy run on an engine
that evaluates it wrongly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from checker.rego_lexer import CONTINUATION, HEAD_FOLLOWERS, KEYWORDS, LITERALS, Token, tokenize

__all__ = [
    "Call",
    "Token",
    "defined_functions",
    "function_calls",
    "imports",
    "keywords_used",
    "package_name",
    "statement_count",
    "tokenize",
    "unsupported_calls",
    "with_values",
]

@dataclass(frozen=True)
class Call:
    """A call site: dotted (or bracketed) ref immediately followed by `(`."""

    name: str
    line: int
    column: int
    # Where each argument's tokens are, for checks of literal arguments (not part of equality).
    # Kept as spans into the module's tokens and sliced only when asked: slicing every call's
    # arguments up front costs the square of the nesting depth.
    spans: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)
    tokens: Sequence[Token] = field(default=(), compare=False, repr=False)

    @property
    def args(self) -> tuple[tuple[Token, ...], ...]:
        """The tokens of each argument, split at top-level commas."""
        return tuple(tuple(self.tokens[start:end]) for start, end in self.spans)


_CLOSER_OF = {"[": "]", "(": ")", "{": "}"}


def _bracket_pairs(tokens: Sequence[Token], openers: str = "[(") -> dict[int, int]:
    """Map index of each closing bracket to the index of its opening one, for these kinds of
    bracket (`]`/`)` by default; braces too with openers="[({")."""
    closers = {_CLOSER_OF[o]: o for o in openers}
    pairs: dict[int, int] = {}
    stack: list[tuple[str, int]] = []
    for i, tok in enumerate(tokens):
        if tok.kind != "punct":
            continue
        if tok.text in _CLOSER_OF and tok.text in openers:
            stack.append((tok.text, i))
        elif tok.text in closers:
            want = closers[tok.text]
            # tolerate broken nesting: unwind to the matching opener if present
            while stack and stack[-1][0] != want:
                stack.pop()
            if stack:
                pairs[i] = stack.pop()[1]
    return pairs


def _adjacent(a: Token, b: Token) -> bool:
    return a.end == b.start


def _ref_start(tokens: Sequence[Token], j: int, pairs: dict[int, int]) -> int:
    """Walk back from tokens[j] (an ident or `]`) to the first token of its ref."""
    k = j
    while True:
        tok = tokens[k]
        if tok.text == "]":
            opener = pairs.get(k)
            if opener is None or opener == 0:
                return k if opener is None else opener
            before = tokens[opener - 1]
            if (before.kind == "ident" or before.text == "]") and _adjacent(before, tokens[opener]):
                k = opener - 1
                continue
            return opener
        if k >= 2 and tokens[k - 1].text == "." and _adjacent(tokens[k - 1], tok):
            before = tokens[k - 2]
            if (before.kind == "ident" or before.text in ("]", ")")) and _adjacent(before, tokens[k - 1]):
                if before.text == ")":
                    # `f(x).g(` is not valid Rego; keep the leading dot so it never resolves
                    return k - 1
                k = k - 2
                continue
            return k - 1
        return k


def _is_keyword_use(tokens: Sequence[Token], i: int) -> bool:
    """Whether the ident tokens[i] is used as a keyword (and not, e.g., as builtin `contains(`)."""
    tok = tokens[i]
    if tok.text not in KEYWORDS or tok.text in LITERALS:
        return False
    if i >= 1 and tokens[i - 1].text == "." and _adjacent(tokens[i - 1], tok):
        return False  # a ref segment like input.if
    if tok.text != "contains":
        return True
    # `p contains x` (multi-value rule head) vs the builtin `contains(s, t)`
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is None or nxt.text != "(":
        return True
    prev = tokens[i - 1] if i >= 1 else None
    return prev is not None and (prev.kind == "ident" or prev.text == "]") and prev.line == tok.line


def _argument_spans(tokens: Sequence[Token]) -> dict[int, tuple[tuple[int, int], ...]]:
    """For each `(`, the token spans of its arguments, split at its top-level commas, in one pass.

    Any closing bracket closes the innermost open one (broken nesting is not Rego, and must only
    never hide a call); an argument list that is never closed runs to the end of the module. An
    empty last argument (`f()`, `f(a,)`) is not an argument."""
    spans: dict[int, tuple[tuple[int, int], ...]] = {}
    commas: dict[int, list[int]] = {}
    stack: list[int] = []

    def close(opener: int, end: int) -> None:
        if tokens[opener].text != "(":
            return
        cuts = [opener, *commas.pop(opener, ()), end]
        parts = [(cut + 1, following) for cut, following in itertools.pairwise(cuts)]
        if parts and parts[-1][0] == parts[-1][1]:
            parts.pop()
        spans[opener] = tuple(parts)

    for i, tok in enumerate(tokens):
        if tok.kind != "punct":
            continue
        if tok.text in "([{":
            stack.append(i)
        elif tok.text in ")]}":
            if stack:
                close(stack.pop(), i)
        elif tok.text == "," and stack:
            commas.setdefault(stack[-1], []).append(i)
    while stack:
        close(stack.pop(), len(tokens))
    return spans


def function_calls(source: str) -> list[Call]:
    """Every call site in source: a ref followed by `(` on the same line, keywords excluded."""
    tokens = tokenize(source)
    pairs = _bracket_pairs(tokens)
    arguments = _argument_spans(tokens)
    calls: list[Call] = []
    for i, tok in enumerate(tokens):
        if tok.text != "(" or tok.kind != "punct" or i == 0:
            continue
        prev = tokens[i - 1]
        if prev.line != tok.line or not (prev.kind == "ident" or prev.text == "]"):
            continue
        start = _ref_start(tokens, i - 1, pairs)
        if start == i - 1 and prev.kind == "ident":
            if prev.text in LITERALS or _is_keyword_use(tokens, i - 1):
                continue
            if prev.text == "set" and i + 1 < len(tokens) and tokens[i + 1].text == ")":
                continue  # `set()` is the empty-set literal
        name = "".join(t.text for t in tokens[start:i])
        calls.append(Call(name, tokens[start].line, tokens[start].column, arguments.get(i, ()), tokens))
    return calls


def _depths(tokens: Sequence[Token]) -> list[int]:
    """Bracket nesting depth before each token."""
    depth, out = 0, []
    for tok in tokens:
        if tok.kind == "punct" and tok.text in ")]}":
            depth = max(depth - 1, 0)
        out.append(depth)
        if tok.kind == "punct" and tok.text in "([{":
            depth += 1
    return out


def _dotted_chain(tokens: Sequence[Token], i: int) -> tuple[str, int]:
    """Read ident(.ident)* from tokens[i]; return the name and the index after it."""
    parts, k = [tokens[i].text], i + 1
    while (k + 1 < len(tokens) and tokens[k].text == "." and tokens[k + 1].kind == "ident"
           and _adjacent(tokens[k - 1], tokens[k]) and _adjacent(tokens[k], tokens[k + 1])):
        parts.append(tokens[k + 1].text)
        k += 2
    return ".".join(parts), k


def _head_start(tokens: Sequence[Token], depths: list[int], i: int) -> bool:
    """Whether tokens[i] starts a top-level statement at column 1 (optionally after `default`)."""
    tok = tokens[i]
    if depths[i] != 0 or tok.kind != "ident":
        return False
    if tok.column == 1 and tok.first_on_line:
        prev = tokens[i - 1] if i else None
        return prev is None or prev.text not in CONTINUATION
    prev = tokens[i - 1] if i else None
    return prev is not None and prev.text == "default" and _head_start(tokens, depths, i - 1)


def statement_count(source: str) -> int:
    """How many top-level statements (package, imports, rule and function definitions) a module has."""
    tokens = tokenize(source)
    depths = _depths(tokens)
    count = 0
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        continues = prev is not None and prev.text in CONTINUATION
        if depths[i] == 0 and tok.kind == "ident" and tok.first_on_line and not continues:
            count += 1
    return count


def rule_heads(source: str) -> set[str]:
    """Names of the rules (not functions) a module defines: top-level statements, at any
    indentation, such as `deny contains msg if {`, `deny[msg] {`, `allow := true`, `default x := 1`."""
    tokens = tokenize(source)
    depths = _depths(tokens)
    names: set[str] = set()
    for i, tok in enumerate(tokens):
        if depths[i] != 0 or tok.kind != "ident" or tok.text in KEYWORDS or tok.text == "default":
            continue
        prev = tokens[i - 1] if i else None
        starts = tok.first_on_line and (prev is None or prev.text not in CONTINUATION)
        if not (starts or (prev is not None and prev.text == "default")):
            continue
        name, k = _dotted_chain(tokens, i)
        if k < len(tokens) and tokens[k].text == "(":
            continue  # a function
        names.add(name)
    return names


def identifiers(source: str) -> set[str]:
    """Every identifier outside comments and strings."""
    return {tok.text for tok in tokenize(source) if tok.kind == "ident"}


def defined_functions(source: str) -> set[str]:
    """Names of functions defined in the module (rule heads `name(args) :=|=|if|{`), unqualified."""
    tokens = tokenize(source)
    depths = _depths(tokens)
    pairs = _bracket_pairs(tokens)
    closers = {opener: closer for closer, opener in pairs.items()}
    names: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.text == "default" or tok.text in KEYWORDS or not _head_start(tokens, depths, i):
            continue
        name, k = _dotted_chain(tokens, i)
        if k >= len(tokens) or tokens[k].text != "(" or k not in closers:
            continue
        after = closers[k] + 1
        if after < len(tokens) and tokens[after].text in HEAD_FOLLOWERS:
            names.add(name)
    return names


def _line_ref(tokens: Sequence[Token], i: int) -> tuple[str, int]:
    """Concatenate a ref (idents, dots, brackets, strings) that starts at i on one line."""
    parts: list[str] = []
    k, line = i, tokens[i].line
    while k < len(tokens) and tokens[k].line == line and (
        tokens[k].kind in ("ident", "string") or tokens[k].text in (".", "[", "]")
    ):
        if tokens[k].kind == "ident" and parts and parts[-1] not in (".", "["):
            break  # e.g. the `as` of an import
        parts.append(tokens[k].text)
        k += 1
    return "".join(parts), k


def package_name(source: str) -> str | None:
    """The module's package path, e.g. "access.owner_location", or None."""
    tokens = tokenize(source)
    for i, tok in enumerate(tokens):
        if tok.text == "package" and tok.first_on_line and i + 1 < len(tokens):
            name, _ = _line_ref(tokens, i + 1)
            return name or None
    return None


def imports(source: str) -> dict[str, str]:
    """alias -> imported ref, e.g. {"groups": "data.lib.groups"}; `as` aliases honoured."""
    tokens = tokenize(source)
    out: dict[str, str] = {}
    for i, tok in enumerate(tokens):
        if tok.text != "import" or not tok.first_on_line or i + 1 >= len(tokens):
            continue
        path, k = _line_ref(tokens, i + 1)
        if not path:
            continue
        if k + 1 < len(tokens) and tokens[k].text == "as" and tokens[k].line == tok.line:
            alias = tokens[k + 1].text
        else:
            last = tokens[k - 1]
            alias = last.text.strip('"`') if last.kind == "string" else last.text
            if last.text == "]" and tokens[k - 2].kind == "string":
                alias = tokens[k - 2].text.strip('"`')
        out[alias] = path
    return out


def keywords_used(source: str) -> list[tuple[str, int]]:
    """(keyword, line) for each keyword used as a keyword (literals true/false/null excluded)."""
    tokens = tokenize(source)
    return [(t.text, t.line) for i, t in enumerate(tokens)
            if t.kind == "ident" and _is_keyword_use(tokens, i)]


def with_values(source: str) -> list[tuple[str, int]]:
    """(name, line) of each `with <target> as <name>` whose replacement is a plain or dotted name:
    `with data.lib.f as http.send` makes a builtin callable without a call site of its own."""
    tokens = tokenize(source)
    out: list[tuple[str, int]] = []
    for i, tok in enumerate(tokens):
        if tok.text != "with" or tok.kind != "ident" or not _is_keyword_use(tokens, i):
            continue
        k = i + 1
        while k < len(tokens) and tokens[k].text != "as" and tokens[k].line == tok.line:
            k += 1
        if k + 1 < len(tokens) and tokens[k].text == "as" and tokens[k + 1].kind == "ident":
            name, _end = _dotted_chain(tokens, k + 1)
            out.append((name, tokens[k + 1].line))
    return out


def _module_functions(modules: Mapping[str, str]) -> set[str]:
    """Fully qualified `data.<pkg>.<fn>` names of all functions defined in modules."""
    out: set[str] = set()
    for source in modules.values():
        pkg = package_name(source)
        if pkg is not None:
            out.update(f"data.{pkg}.{fn}" for fn in defined_functions(source))
    return out


def _resolve(name: str, pkg: str | None, aliases: dict[str, str], user: set[str]) -> bool:
    """Whether a call name resolves to a user-defined function."""
    if name.startswith("data."):
        return name in user
    candidates = []
    if pkg is not None:
        candidates.append(f"data.{pkg}.{name}")
    head, _, rest = name.partition(".")
    if head in aliases:
        candidates.append(f"{aliases[head]}.{rest}" if rest else aliases[head])
    return any(c in user for c in candidates)


def unsupported_calls(
    modules: Mapping[str, str] | Mapping[PurePath, str],
    allowed: frozenset[str],
    accept: Callable[[Call], bool] | None = None,
) -> list[tuple[str | PurePath, int, str]]:
    """(path, line, name) of calls that are neither user functions nor in allowed.

    Calls are resolved against functions defined in any of the modules: bare names in the
    calling module's package, full `data.<pkg>.<fn>` refs, and refs through import aliases.
    Anything unresolved that is not allowed is reported, unknown names included, unless
    accept(call) says this particular call site is fine (e.g. a literal argument).
    """
    user = _module_functions({str(p): s for p, s in modules.items()})
    found: list[tuple[str | PurePath, int, str]] = []
    for path, source in modules.items():
        pkg, aliases = package_name(source), imports(source)
        for call in function_calls(source):
            if call.name in allowed or _resolve(call.name, pkg, aliases, user):
                continue
            if accept is not None and accept(call):
                continue
            found.append((path, call.line, call.name))
    return found
