"""Which Rego builtins the embedded engine (regopy) evaluates exactly like real OPA.

regopy silently returns wrong values for some builtins (min/max compare numbers as text,
time.diff, ...) and undefined for ones it lacks, which would quietly switch rules off.
So the embedded engine only accepts policies whose builtin calls all passed their
known-answer tests (known_answers.json: expected values are what OPA v1 returns).

A builtin that fails somewhere may still be right in a narrower call form that the scanner
can recognise from literal arguments (format_int(_, 10), concat over an array): a test tagged
with a form vouches for that form too, and a form is accepted when all its tests pass.

ALLOWED_BUILTINS, DENIED_BUILTINS and ALLOWED_FORMS below are committed literals produced by
running the tests on regopy; the test suite re-runs them so they cannot drift.
Regenerate them with `python3 -m checker.engines.embedded_capabilities`.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.engines.embedded_pitfalls import argument_key_problems
from checker.engines.workers import die_with_parent
from checker.rego_scan import Call, Token, function_calls, keywords_used, tokenize, unsupported_calls

KNOWN_ANSWERS_PATH = Path(__file__).with_name("known_answers.json")

# Variable the known-answer query result is bound to.
_RESULT_VAR = "known_answer_result__"

# Defects that cannot be shown by running a test in this process; these builtins are denied
# without running their tests (tests tagged with a safe form of them still run).
_UNTESTABLE_DEFECTS: dict[str, str] = {
    # regopy prints to the process's stdout (OPA: stderr), corrupting the checker's own output
    "print": "it writes to stdout, where OPA writes print output to stderr",
    # these never return (and grow memory) on regopy; OPA answers "-a-b-c-" / ["a", "b", "c"]
    "replace": 'replace("abc", "", "-") never returns',
    "strings.replace_n": 'strings.replace_n({"": "-"}, "abc") never returns',
    "regex.split": 'regex.split("", "abc") never returns',
}

# Keywords the embedded engine must not be trusted with in (non-test) policy modules.
RESTRICTED_KEYWORDS: dict[str, str] = {
    "with": "the `with` keyword in a policy rule is not supported by the embedded engine",
}


@dataclass(frozen=True)
class KnownAnswer:
    """One known-answer test: `query` must evaluate to `expect` (or raise, if `error`), as in OPA v1."""

    builtin: str
    query: str
    expect: Any = None
    form: str | None = None
    error: bool = False  # OPA, with strict builtin errors, raises an error


def load_known_answers(path: Path = KNOWN_ANSWERS_PATH) -> list[KnownAnswer]:
    """The known-answer tests, in file order."""
    with path.open(encoding="utf-8") as f:
        return [
            KnownAnswer(t["builtin"], t["query"], t.get("expect"), t.get("form"), bool(t.get("error", False)))
            for t in json.load(f)
        ]


# --- call forms: narrower call shapes recognised from the call site's argument tokens ---

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


# --- running the tests on regopy ---


def _same(got: Any, want: Any) -> bool:
    """JSON equality where numbers compare numerically but booleans never equal numbers."""
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and got == want
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(_same(g, w) for g, w in zip(got, want, strict=True)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(_same(got[k], want[k]) for k in want))
    return type(got) is type(want) and got == want


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _evaluate(interp: Any, query: str) -> tuple[str, Any]:
    """("ok", value), ("undefined", None), ("multiple", n) or ("error", None)."""
    try:
        out = interp.query(f"{_RESULT_VAR} := {query}")
        # Never str() a failed Output: that has crashed the process. ok() is safe.
        if not out.ok():
            return "error", None
        values = [r.bindings[_RESULT_VAR] for r in out.results if _RESULT_VAR in r.bindings]
    except Exception:  # RegoError, or regopy's own JSON parsing of an error node
        return "error", None
    if not values:
        return "undefined", None
    if len(values) > 1:
        return "multiple", len(values)
    return "ok", values[0]


def _failure(interp: Any, test: KnownAnswer) -> str | None:
    """None if the test passes, else a one-line reason."""
    status, value = _evaluate(interp, test.query)
    if test.error:
        if status == "error":
            return None
        shown = _show(value) if status == "ok" else status
        return f"got {shown} where OPA raises an error for {test.query}"
    if status == "ok":
        if _same(value, test.expect):
            return None
        return f"got {_show(value)} expected {_show(test.expect)} for {test.query}"
    if status == "multiple":
        return f"{value} results instead of one for {test.query}"
    return f"{status} for {test.query}"


def _new_interpreter() -> Any:
    import regopy  # imported lazily: only the embedded engine needs the native library

    interp = regopy.Interpreter()
    # Builtin errors must surface instead of turning into undefined.
    interp.strict_built_in_errors = True
    return interp


def _run_groups(groups: Mapping[str, list[KnownAnswer]], builtin_of: Callable[[str], str]) -> dict[str, str | None]:
    """Key -> None if all the key's tests pass, else the first failure's reason.

    Runs in a freshly spawned process: some builtins abort the whole process when other
    native libraries are loaded beside regopy, and a self-test must not take its caller down.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        try:
            return pool.submit(_run_groups_here, dict(groups), builtin_of).result()
        except BrokenProcessPool:
            return {key: "regopy crashed while running the known-answer tests" for key in groups}


def _run_groups_here(groups: Mapping[str, list[KnownAnswer]], builtin_of: Callable[[str], str]
                     ) -> dict[str, str | None]:
    results: dict[str, str | None] = {}
    for key, tests in groups.items():
        builtin = builtin_of(key)
        if key in _UNTESTABLE_DEFECTS:
            results[key] = _UNTESTABLE_DEFECTS[key]
            continue
        interp = _new_interpreter()  # one per group so no state leaks between builtins
        reason = next((r for r in (_failure(interp, t) for t in tests) if r is not None), None)
        if reason is not None and not interp.is_builtin(builtin):
            reason = "regopy does not implement it"
        results[key] = reason
    return results


def _same_name(builtin: str) -> str:
    return builtin


def run_known_answers(names: Iterable[str] | None = None) -> dict[str, str | None]:
    """builtin -> None if every known-answer test of it passed on regopy, else a one-line reason."""
    wanted = None if names is None else set(names)
    groups: dict[str, list[KnownAnswer]] = {}
    for test in load_known_answers():
        if wanted is None or test.builtin in wanted:
            groups.setdefault(test.builtin, []).append(test)
    return _run_groups(groups, _same_name)


def run_form_answers() -> dict[str, str | None]:
    """form -> None if every known-answer test tagged with the form passed, else a reason."""
    groups: dict[str, list[KnownAnswer]] = {}
    for test in load_known_answers():
        if test.form is not None:
            groups.setdefault(test.form, []).append(test)
    return _run_groups(groups, form_builtin)


def render_lists(results: Mapping[str, str | None], form_results: Mapping[str, str | None]) -> str:
    """Python source of the generated lists, from the two runs' results."""

    def entry(name: str, reason: str) -> str:
        line = f"    {json.dumps(name)}: {json.dumps(reason, ensure_ascii=False)},"
        if len(line) <= 120:
            return line
        # split at spaces into implicitly concatenated pieces so lines stay within the limit
        pieces, current = [], ""
        for word in reason.split(" "):
            if current and len(current) + len(word) > 80:
                pieces.append(current)
                current = ""
            current += word + " "
        pieces.append(current[:-1])
        body = "\n".join(f"        {json.dumps(p, ensure_ascii=False)}" for p in pieces)
        return f"    {json.dumps(name)}: (\n{body}\n    ),"

    allowed = sorted(name for name, reason in results.items() if reason is None)
    denied = sorted((name, reason) for name, reason in results.items() if reason is not None)
    forms = sorted(form for form, reason in form_results.items() if reason is None)
    lines = ["ALLOWED_BUILTINS: frozenset[str] = frozenset({"]
    lines += [f"    {json.dumps(name)}," for name in allowed]
    lines += ["})", "", "DENIED_BUILTINS: dict[str, str] = {"]
    lines += [entry(name, reason) for name, reason in denied]
    lines += ["}", "", "ALLOWED_FORMS: frozenset[str] = frozenset({"]
    lines += [f"    {json.dumps(form)}," for form in forms]
    lines.append("})")
    return "\n".join(lines) + "\n"


# The regopy version the lists below were generated with; tests/engines checks them against it.
LISTS_REGOPY_VERSION = "1.5.2"

# --- generated by render_lists(); do not edit by hand ---
ALLOWED_BUILTINS: frozenset[str] = frozenset({
    "abs",
    "array.concat",
    "array.reverse",
    "array.slice",
    "base64.decode",
    "base64.encode",
    "base64url.decode",
    "base64url.encode",
    "base64url.encode_no_pad",
    "bits.and",
    "bits.lsh",
    "bits.negate",
    "bits.or",
    "bits.rsh",
    "bits.xor",
    "ceil",
    "contains",
    "count",
    "crypto.hmac.equal",
    "crypto.hmac.sha256",
    "crypto.md5",
    "crypto.sha1",
    "crypto.sha256",
    "endswith",
    "floor",
    "glob.match",
    "glob.quote_meta",
    "graph.reachable",
    "hex.decode",
    "hex.encode",
    "intersection",
    "io.jwt.decode",
    "io.jwt.verify_hs256",
    "is_array",
    "is_boolean",
    "is_null",
    "is_number",
    "is_object",
    "is_set",
    "is_string",
    "json.filter",
    "json.is_valid",
    "json.marshal_with_options",
    "json.patch",
    "json.remove",
    "numbers.range",
    "numbers.range_step",
    "object.filter",
    "object.get",
    "object.keys",
    "object.remove",
    "object.subset",
    "object.union_n",
    "product",
    "regex.globs_match",
    "regex.template_match",
    "round",
    "semver.compare",
    "semver.is_valid",
    "split",
    "startswith",
    "strings.any_prefix_match",
    "strings.any_suffix_match",
    "strings.count",
    "strings.reverse",
    "substring",
    "sum",
    "time.add_date",
    "time.clock",
    "time.date",
    "time.now_ns",
    "time.parse_duration_ns",
    "time.weekday",
    "to_number",
    "trim",
    "trim_left",
    "trim_prefix",
    "trim_right",
    "trim_space",
    "trim_suffix",
    "type_name",
    "union",
    "units.parse",
    "units.parse_bytes",
    "urlquery.decode_object",
    "yaml.is_valid",
    "yaml.marshal",
})

DENIED_BUILTINS: dict[str, str] = {
    "base64.is_valid": "got true expected false for base64.is_valid(\"aGVsbG8\")",
    "concat": "got \"b-a\" expected \"a-b\" for concat(\"-\", {\"b\", \"a\"})",
    "format_int": "got \"10\" expected \"1010\" for format_int(10, 2)",
    "indexof": "got 0 where OPA raises an error for indexof(\"abc\", \"\")",
    "indexof_n": "got [0, 1, 2, 3] where OPA raises an error for indexof_n(\"abc\", \"\")",
    "json.marshal": "got \"\\\"a<b\\\"\" expected \"\\\"a\\\\u003cb\\\"\" for json.marshal(\"a<b\")",
    "json.unmarshal": "error for json.unmarshal(`{\"k\": \"\\u00e9\"}`)",
    "lower": "got \"École\" expected \"école\" for lower(\"ÉCOLE\")",
    "max": "got 25 expected 200 for max([25, 200])",
    "min": "got 200 expected 25 for min([25, 200])",
    "net.cidr_contains": "regopy does not implement it",
    "net.cidr_expand": "regopy does not implement it",
    "net.cidr_intersects": "regopy does not implement it",
    "net.cidr_is_valid": "regopy does not implement it",
    "net.cidr_merge": "regopy does not implement it",
    "object.union": (
        "got {\"a\": 1, \"b\": {\"d\": 2}} expected {\"a\": 1, \"b\": {\"c\": 1, \"d\": 2}} for "
        "object.union({\"a\": 1, \"b\": {\"c\": 1}}, {\"b\": {\"d\": 2}})"
    ),
    "print": "it writes to stdout, where OPA writes print output to stderr",
    "regex.find_all_string_submatch_n": "error for regex.find_all_string_submatch_n(\"(?i)(a)\", \"A\", -1)",
    "regex.find_n": "error for regex.find_n(\"(?i)a\", \"Aa\", -1)",
    "regex.is_valid": "got false expected true for regex.is_valid(\"(?i)abc\")",
    "regex.match": "error for regex.match(\"(?i)abc\", \"ABC\")",
    "regex.replace": "error for regex.replace(\"ABC\", \"(?i)b\", \"x\")",
    "regex.split": "regex.split(\"\", \"abc\") never returns",
    "replace": "replace(\"abc\", \"\", \"-\") never returns",
    "sort": "got [10, 100, 9] expected [9, 10, 100] for sort([10, 9, 100])",
    "sprintf": "got \"1410065408\" expected \"10000000000\" for sprintf(\"%d\", [10000000000])",
    "strings.replace_n": "strings.replace_n({\"\": \"-\"}, \"abc\") never returns",
    "time.diff": (
        "got [0, 11, 30, 4, 39, 54] expected [1, 0, 0, 0, 0, 0] for "
        "time.diff(1640995200000000000, 1609459200000000000)"
    ),
    "time.format": (
        "got \"2021-01-01T00:00:00.000000000Z\" expected \"2021-01-01T00:00:00Z\" for "
        "time.format(1609459200000000000)"
    ),
    "time.parse_ns": "error for time.parse_ns(\"2006-01-02T15:04:05Z07:00\", \"2021-01-01T00:00:00Z\")",
    "time.parse_rfc3339_ns": "error for time.parse_rfc3339_ns(\"2021-01-01T00:00:00Z\")",
    "trace": "regopy does not implement it",
    "upper": "got \"HéLLO\" expected \"HÉLLO\" for upper(\"héllo\")",
    "urlquery.decode": "got \"a+b&c\" expected \"a b&c\" for urlquery.decode(\"a+b%26c\")",
    "urlquery.encode": "got \"a%20b%26c%3Dd\" expected \"a+b%26c%3Dd\" for urlquery.encode(\"a b&c=d\")",
    "urlquery.encode_object": (
        "got \"b=x&b=y&a=1\" expected \"a=1&b=x&b=y\" for urlquery.encode_object({\"b\": [\"x\", "
        "\"y\"], \"a\": \"1\"})"
    ),
    "walk": "got [[[[], {}]]] expected [[[], {}]] for [x | x := walk({})]",
    "yaml.unmarshal": (
        "got {\"a\": 1, \"b\": [\"x\", \"y\"]} expected {\"a\": 1, \"b\": [\"x\", true]} for "
        "yaml.unmarshal(\"a: 1\\nb: [x, y]\")"
    ),
}

ALLOWED_FORMS: frozenset[str] = frozenset({
    "concat(_, array)",
    "format_int(_, 10)",
    "regex.find_all_string_submatch_n(literal pattern, _, _)",
    "regex.find_n(literal pattern, _, _)",
    "regex.match(literal pattern, _)",
    "regex.replace(_, literal pattern, _)",
    "regex.split(literal pattern, _)",
    "replace(_, non-empty literal, _)",
    "sprintf(\"%s %d %v\", _)",
    "time.parse_ns(\"2006-01-02\", _)",
})


def _recheck(modules: Mapping[str, str]) -> tuple[frozenset[str], frozenset[str]]:
    """Allowed builtins and forms among those the modules call, from a fresh known-answer run."""
    called = {call.name for source in modules.values() for call in function_calls(source)}
    tested = {test.builtin for test in load_known_answers()}
    results = run_known_answers(called & tested)
    form_results = {form: reason for form, reason in run_form_answers().items() if form_builtin(form) in called}
    return (frozenset(name for name, reason in results.items() if reason is None),
            frozenset(form for form, reason in form_results.items() if reason is None))


def _call_message(name: str) -> str:
    """Why a call that is neither a policy function nor allowed is refused."""
    if name in DENIED_BUILTINS:
        reason = DENIED_BUILTINS[name]
        forms = sorted(f for f in ALLOWED_FORMS if form_builtin(f) == name)
        only = f"; only the form {' or '.join(forms)} is known to be right" if forms else ""
        if reason.startswith("got "):
            return f"builtin {name} gives wrong results on the embedded engine ({reason}){only} — use --engine opa"
        return f"builtin {name} is not supported by the embedded engine ({reason}){only} — use --engine opa"
    if name.startswith("data."):
        return (f"function {name} is not defined in the policy modules, so the embedded engine"
                " cannot vouch for it — use --engine opa")
    return f"builtin {name} is not supported by the embedded engine (it has no known-answer test) — use --engine opa"


def check_policies(modules: Mapping[str, str], regopy_version: str | None = None) -> list[tuple[str, int, str, str]]:
    """(path, line, builtin or keyword, message) for every construct the embedded engine refuses.

    The committed lists hold for the regopy they were made with (LISTS_REGOPY_VERSION, which the
    test suite checks). With any other regopy installed, the known-answer tests of the builtins and
    forms these policies use are run again first, and only what passes them is allowed.
    """
    allowed, forms = ALLOWED_BUILTINS, ALLOWED_FORMS
    if regopy_version is not None and regopy_version != LISTS_REGOPY_VERSION:
        allowed, forms = _recheck(modules)

    def accepted(call: Call) -> bool:
        return any(form_builtin(form) == call.name and FORM_MATCHERS[form](call) for form in forms)

    findings = [(str(path), line, name, _call_message(name) if allowed is ALLOWED_BUILTINS else
                 f"builtin {name} failed its known-answer test on regopy {regopy_version} — use --engine opa")
                for path, line, name in unsupported_calls(modules, allowed, accepted)]
    for path, source in modules.items():
        if str(path).endswith("_test.rego"):
            continue  # test modules may mock with `with`; only policy modules are restricted
        for keyword, line in keywords_used(source):
            if keyword in RESTRICTED_KEYWORDS:
                findings.append((str(path), line, keyword, f"{RESTRICTED_KEYWORDS[keyword]} — use --engine opa"))
        findings.extend((str(path), line, text, message) for line, text, message in literal_problems(source))
        findings.extend((str(path), line, name, message) for line, name, message in argument_key_problems(source))
    return sorted(findings, key=lambda f: (f[0], f[1], f[2]))


_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)


def literal_problems(source: str) -> list[tuple[int, str, str]]:
    """(line, literal, why) for literals OPA reads but the embedded engine does not read the same.

    rego-cpp keeps a string literal as the text between its quotes, and checker hands it input
    strings escaped the way json.dumps escapes them (see embedded.escaped): a literal escaped any
    other way ("\\u00e9", "\\/") would silently compare unequal to the same text in the input.
    A number beyond a double's range fails every evaluation with a bare "stod"."""
    found = []
    for token in tokenize(source):
        if token.kind == "number" and math.isinf(float(token.text)):
            found.append((token.line, token.text, f"the number {token.text} is beyond the embedded engine's range "
                                                   f"(a 64-bit float) — use --engine opa"))
        elif token.kind in ("string", "template") and token.text.startswith(("\"", "$\"")) and "\\" in token.text:
            for match in _ESCAPE.finditer(token.text):
                escape = match.group(1)
                char = chr(int(escape[1:], 16)) if escape.startswith("u") else None
                canonical = json.dumps(char, ensure_ascii=False)[1:-1] if char is not None else None
                if (char is not None and canonical != match.group(0)) or (char is None and escape == "/"):
                    shown = match.group(0)
                    found.append((token.line, shown, f"the escape {shown} in a string compares unequal to the "
                                                     f"same text in the input on the embedded engine: write the "
                                                     f"character itself — or use --engine opa"))
    return found


if __name__ == "__main__":
    print(render_lists(run_known_answers(), run_form_answers()), end="")
