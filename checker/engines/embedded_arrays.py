"""Deny/warn rules as array comprehensions, for the embedded engine only.

rego-cpp builds a set in quadratic time (1,000 small objects: ~3 s; 2,000: ~20 s), so a group
with thousands of findings spent minutes building its deny/warn sets; an array comprehension over
the same body is linear. Each `deny contains HEAD if { BODY }` of a family module becomes
`__checker_deny_N := [HEAD | BODY ]`, token for token on the same lines (error lines stay right),
the query reads the arrays, and the set is defined again at the end of the module from the
arrays for anything that still refers to it (it is built only if asked for). The elements are
deduplicated in Python, which restores the set's semantics. A shape this does not handle keeps
its family on the set (slower, same answer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from checker import rego_scan
from checker.models import RuleInfo

PREFIX = "__checker_"
_ARRAY_RULE = re.compile(rf"{PREFIX}[a-z]+_(\d+)")


def array_rule_line(name: str) -> int | None:
    """The source line of the rule an array rule was made from (its name ends with it)."""
    match = _ARRAY_RULE.fullmatch(name)
    return int(match.group(1)) if match else None


def shown_rule_names(message: str) -> str:
    """An engine message with the array rules named as the policy author wrote them (deny, warn)."""
    return re.sub(rf"\b{PREFIX}([a-z]+)_\d+\b", r"\1", message)


def rewrite(source: str, package: str, levels: Sequence[str]
            ) -> tuple[str, dict[str, list[str]], set[str]]:
    """(new source, level -> array rule names, levels left as sets in this module)."""
    tokens = rego_scan.tokenize(source)
    depths = rego_scan._depths(tokens)
    edits: list[tuple[int, int, str]] = []
    arrays: dict[str, list[str]] = {}
    unsupported: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.text not in levels or not rego_scan._head_start(tokens, depths, i):
            continue
        found = _contains_rule(tokens, depths, i)
        if found is None:
            unsupported.add(tok.text)
            continue
        if_at, close_at = found
        name = f"{PREFIX}{tok.text}_{tok.line}"
        edits += [(tok.start, tokens[i + 1].end, f"{name} := ["), (tokens[if_at].start, tokens[if_at].end, "|"),
                  (tokens[if_at + 1].start, tokens[if_at + 1].end, " "),
                  (tokens[close_at].start, tokens[close_at].end, "]")]
        arrays.setdefault(tok.text, []).append(name)
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    tail = [f"{level} contains {PREFIX}x if {{\n\tsome {PREFIX}x in {name}\n}}"
            for level, names in arrays.items() for name in names]
    if tail:
        out = out.rstrip("\n") + "\n\n" + "\n\n".join(tail) + "\n"
    return out, arrays, unsupported


def _contains_rule(tokens: Sequence[rego_scan.Token], depths: list[int], i: int) -> tuple[int, int] | None:
    """(index of `if`, index of the body's closing brace) of `LEVEL contains HEAD if { BODY }`
    starting at tokens[i], or None for any other shape."""
    if i + 2 >= len(tokens) or tokens[i + 1].text != "contains":
        return None
    k = i + 2
    while k < len(tokens) and not (depths[k] == 0 and tokens[k].text == "if"):
        if rego_scan._head_start(tokens, depths, k) or (depths[k] == 0 and tokens[k].text == "else"):
            return None
        k += 1
    if k == i + 2 or k + 1 >= len(tokens) or tokens[k + 1].text != "{":
        return None
    depth = 0
    for c in range(k + 1, len(tokens)):
        if tokens[c].kind != "punct":
            continue
        if tokens[c].text == "{":
            depth += 1
        elif tokens[c].text == "}":
            depth -= 1
            if depth == 0:
                after = c + 1
                if after < len(tokens) and not rego_scan._head_start(tokens, depths, after):
                    return None  # `else` or a second body
                return k, c
    return None


class ArrayPlan:
    """The modules the embedded engine compiles and, per family level, the arrays its query reads."""

    def __init__(self, modules: Sequence[tuple[str, str]], rules: Mapping[str, RuleInfo]) -> None:
        levels_of: dict[str, set[str]] = {}
        for rule in rules.values():
            levels_of.setdefault(rule.package, set()).update(rule.levels)
        arrays: dict[tuple[str, str], list[str]] = {}
        unsupported: set[tuple[str, str]] = set()
        out = []
        for path, source in modules:
            package = rego_scan.package_name(source)
            if package not in levels_of:
                out.append((path, source))
                continue
            new, found, left = rewrite(source, package, sorted(levels_of[package]))
            out.append((path, new))
            for level, names in found.items():
                arrays.setdefault((package, level), []).extend(names)
            unsupported.update((package, level) for level in left)
        self.modules = tuple(out)
        self.arrays = {key: names for key, names in arrays.items() if key not in unsupported}

    def level_ref(self, package: str, level: str) -> str:
        """The Rego expression the query reads for one level of a family."""
        names = self.arrays.get((package, level))
        if not names:
            return f"data.{package}.{level}"
        expr = f"data.{package}.{names[0]}"
        for name in names[1:]:
            expr = f"array.concat({expr}, data.{package}.{name})"
        return expr


def deduplicated(result: dict[str, Any]) -> dict[str, Any]:
    """The rule results with each level's elements once, in first-seen order (a set's semantics)."""
    for levels in result.values():
        if not isinstance(levels, dict):
            continue
        for level, elements in levels.items():
            if isinstance(elements, list) and len(elements) > 1:
                seen: dict[str, Any] = {}
                for element in elements:
                    seen.setdefault(json.dumps(element, sort_keys=True), element)
                levels[level] = list(seen.values())
    return result
