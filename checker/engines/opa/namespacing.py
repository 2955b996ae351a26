"""Sharing a server without clobbering it: modules moved under a per-run package (pure).

See the package docstring for the scheme; the rewrite never adds or removes lines."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from checker.engines import SCOPES, rule_scope
from checker.models import RuleInfo
from checker.policies import Module

NAMESPACE_PREFIX = "checker_run_"
WRAPPER_PREFIX = "checker_batch_"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def namespace_source(source: str, namespace: str) -> str:
    """Move a module under `namespace`: its package and every reference rooted at `data`.

    A scanner, not a regex: strings ("...", `...`), template strings ($"..{expr}..") and
    comments are copied unchanged, except for the expressions inside template strings. An
    identifier is rewritten only where it starts a reference (not after a `.`, so `input.data`
    and `x.package` stay). Lines are never added or removed.
    """
    out: list[str] = []
    # Scanner modes: ("code", depth) at the top level (depth None) or inside a template
    # string's {...} (depth = open braces); ("tmpl", raw) inside a template string's text.
    modes: list[tuple[str, Any]] = [("code", None)]
    prev = ""  # the previous significant character in code
    package_pending = False
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        mode, arg = modes[-1]
        if mode == "tmpl":
            closing = "`" if arg else '"'
            if ch == "\\" and i + 1 < n and (not arg or source[i + 1] == "{"):
                out.append(source[i:i + 2])
                i += 2
            elif ch == closing:
                out.append(ch)
                modes.pop()
                prev = '"'
                i += 1
            elif ch == "{":
                out.append(ch)
                modes.append(("code", 0))
                prev = "{"
                i += 1
            else:
                out.append(ch)
                i += 1
            continue
        if ch in " \t\r\n":
            out.append(ch)
            i += 1
        elif ch == "#":
            eol = source.find("\n", i)
            j = n if eol < 0 else eol
            out.append(source[i:j])
            i = j
        elif ch == '"':
            j = i + 1
            while j < n and source[j] not in '"\n':
                j += 2 if source[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(source[i:j])
            prev, i = '"', j
        elif ch == "`":
            close = source.find("`", i + 1)
            j = n if close < 0 else close + 1
            out.append(source[i:j])
            prev, i = '"', j
        elif ch == "$" and i + 1 < n and source[i + 1] in '"`':
            out.append(source[i:i + 2])
            modes.append(("tmpl", source[i + 1] == "`"))
            i += 2
        elif ch.isalpha() or ch == "_":
            match = _IDENT.match(source, i)
            word = match.group(0) if match else ch
            if package_pending:
                out.append(namespace + ".")
                package_pending = False
            if prev != "." and word == "package":
                package_pending = True
            elif prev != "." and word == "data":
                word = f"data.{namespace}"
            out.append(word)
            prev, i = "a", i + len(match.group(0) if match else ch)
        elif ch.isdigit():
            match = _NUMBER.match(source, i)
            j = match.end() if match else i + 1
            out.append(source[i:j])
            prev, i = "0", j
        else:
            if arg is not None:  # inside a template string's {...}
                if ch == "{":
                    modes[-1] = ("code", arg + 1)
                elif ch == "}":
                    if arg == 0:
                        modes.pop()
                    else:
                        modes[-1] = ("code", arg - 1)
            out.append(ch)
            prev = ch
            i += 1
    return "".join(out)


def data_ref(*segments: str) -> str:
    """data.a.b["not-an-identifier"]: a reference OPA parses, from path segments."""
    parts = ["data"]
    for segment in segments:
        parts.append(f".{segment}" if _IDENT.fullmatch(segment) else f"[{json.dumps(segment)}]")
    return "".join(parts)


def results_rule(scope: str) -> str:
    """The wrapper's rule that answers a batch of one scope's inputs."""
    return "results" if scope == "group" else f"results_{scope}"


def wrapper_module(package: str, namespace: str, rules: Mapping[str, RuleInfo]) -> str:
    """The per-run module that evaluates every rule family for each input of a batch.

    One rule per scope (SCOPES): input = {"batch": {key: input}}; results[key] = {rule id: {"deny":
    [...], ...}} over the families of that scope. A key is missing from results when any family's
    set is undefined for that input: checker treats that as an error, never as "no findings".
    """
    text = (f"# Written by checker for one run and deleted at its end.\n"
            f"package {package}\n\n"
            f"import rego.v1\n\n"
            f"ready := true\n")
    for scope in SCOPES:
        entries = []
        for rule in rules.values():
            if rule_scope(rule) != scope:
                continue
            levels = ", ".join(f"{json.dumps(level)}: {data_ref(namespace, *rule.package.split('.'), level)}"
                               for level in rule.levels)
            entries.append(f"\t\t{json.dumps(rule.rule_id)}: {{{levels}}}")
        body = "{\n" + ",\n".join(entries) + "\n\t}" if entries else "{}"
        text += (f"\n{results_rule(scope)}[key] := r if {{\n"
                 f"\tsome key, doc in input.batch\n"
                 f"\tr := {body} with input as doc\n"
                 f"}}\n")
    return text


def policy_id(namespace: str, index: int, display_path: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", display_path.rsplit("/", 1)[-1]) or "module.rego"
    return f"{namespace}/{index:03d}/{name}"


def upload_order(modules: Sequence[Module]) -> list[Module]:
    """Helper packages before the rule families (fewer retries: OPA compiles on every PUT)."""
    return sorted(modules, key=lambda m: (m.package or "").startswith("access."))
