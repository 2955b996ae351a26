"""Rego's tokens, as OPA's scanner sees them: comments, "..." strings with escapes, `...` raw
strings, $"..." / $`...` template strings whose {expressions} are code. checker.rego_scan reads
shapes on this token stream."""

from __future__ import annotations

import functools
from dataclasses import dataclass

# Rego keywords (v1). "contains" is also a builtin function name, handled separately.
KEYWORDS = frozenset(
    {"as", "contains", "default", "else", "every", "false", "if", "import", "in", "not",
     "null", "package", "some", "true", "with"}
)
LITERALS = frozenset({"true", "false", "null"})
_TWO_CHAR_OPS = (":=", "==", "!=", "<=", ">=")
# Tokens after which a line continues an expression, so the next line cannot start a rule head.
CONTINUATION = frozenset(
    {"if", "else", "not", "in", "contains", "with", "as", "some", "every", "default",
     ":=", "=", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "|", "&",
     ",", ":", ";", ".", "(", "[", "{"}
)
# What may follow `name(args)` in a function rule head.
HEAD_FOLLOWERS = frozenset({":=", "=", "if", "{"})


@dataclass(frozen=True)
class Token:
    """One lexical token; kind is ident, number, string, template or punct."""

    kind: str
    text: str
    line: int
    column: int
    start: int
    end: int
    first_on_line: bool


class _Lexer:
    """Single pass tokenizer; keeps a stack so template-string interpolations are lexed as code."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []
        self.last_line = 0  # line of the previous token, to compute first_on_line
        self.braces = 0  # depth of `{` in code
        self.templates: list[tuple[bool, int]] = []  # (raw, brace depth at the interpolation)

    def run(self) -> list[Token]:
        while self.pos < len(self.src):
            self._step()
        return self.tokens

    def _emit(self, kind: str, start: int, line: int, col: int) -> None:
        first = line != self.last_line
        self.tokens.append(Token(kind, self.src[start:self.pos], line, col, start, self.pos, first))
        self.last_line = self.line  # a raw string may end on a later line than it starts

    def _advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.pos >= len(self.src):
                return
            if self.src[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def _step(self) -> None:
        c = self.src[self.pos]
        if c in " \t\r\n":
            self._advance()
        elif c == "#":
            while self.pos < len(self.src) and self.src[self.pos] != "\n":
                self.pos += 1
        else:
            self._token(c)

    def _token(self, c: str) -> None:
        start, line, col = self.pos, self.line, self.pos - self.line_start + 1
        src = self.src
        if c.isalpha() or c == "_":
            while self.pos < len(src) and (src[self.pos].isalnum() or src[self.pos] == "_"):
                self.pos += 1
            self._emit("ident", start, line, col)
        elif c.isdigit():
            self._number()
            self._emit("number", start, line, col)
        elif c == '"':
            self._advance()
            self._string()
            self._emit("string", start, line, col)
        elif c == "`":
            self._advance()
            self._raw_string()
            self._emit("string", start, line, col)
        elif c == "$" and src[self.pos + 1:self.pos + 2] in ('"', "`"):
            raw = src[self.pos + 1] == "`"
            self._advance(2)
            self._template_part(raw, start, line, col)
        elif c == "}" and self.templates and self.templates[-1][1] == self.braces:
            raw, _ = self.templates.pop()
            self._advance()
            self._template_part(raw, start, line, col)
        else:
            self._punct(c, start, line, col)

    def _punct(self, c: str, start: int, line: int, col: int) -> None:
        two = self.src[self.pos:self.pos + 2]
        self._advance(2 if two in _TWO_CHAR_OPS else 1)
        if c == "{":
            self.braces += 1
        elif c == "}":
            self.braces -= 1
        self._emit("punct", start, line, col)

    def _number(self) -> None:
        src = self.src
        while self.pos < len(src) and (src[self.pos].isalnum() or src[self.pos] == "_"):
            if src[self.pos] in "eE" and src[self.pos + 1:self.pos + 2] in ("+", "-"):
                self.pos += 1
            self.pos += 1
            # a fraction: "1.5" (but not "1.foo", which is not valid Rego anyway)
            if src[self.pos:self.pos + 1] == "." and src[self.pos + 1:self.pos + 2].isdigit():
                self.pos += 1

    def _string(self) -> None:
        src = self.src
        while self.pos < len(src) and src[self.pos] != "\n":
            ch = src[self.pos]
            self.pos += 1
            if ch == '"':
                return
            if ch == "\\" and self.pos < len(src) and src[self.pos] != "\n":
                self.pos += 1

    def _raw_string(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos] != "`":
            self._advance()
        self._advance()

    def _template_part(self, raw: bool, start: int, line: int, col: int) -> None:
        """Lex up to the closing quote or to `{`, which opens an interpolated expression."""
        src, end_char = self.src, "`" if raw else '"'
        while self.pos < len(src):
            ch = src[self.pos]
            if ch == "\n" and not raw:
                break
            self._advance()
            if ch == end_char:
                break
            if ch == "{":
                self.templates.append((raw, self.braces))
                break
            # `\{` is a literal brace in both kinds; other escapes only exist in $"..."
            escaped = src[self.pos:self.pos + 1]
            if ch == "\\" and escaped not in ("", "\n") and (not raw or escaped == "{"):
                self._advance()
        self._emit("template", start, line, col)


@functools.lru_cache(maxsize=16)
def tokenize(source: str) -> tuple[Token, ...]:
    """Tokens of source, without whitespace and comments. Remembered for the last few modules:
    each module is scanned for calls, package, imports, functions and keywords in turn."""
    return tuple(_Lexer(source).run())
