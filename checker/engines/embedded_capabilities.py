"""Which Rego builtins the embedded engine (regopy) evaluates exactly like real OPA.

regopy silently returns wrong values for some builtins (min/max compare numbers as text,
time.diff, ...) and undefined for ones it lacks, which would quietly switch rules off.
So the embedded engine only accepts policies whose builtin calls all passed their
known-answer tests (known_answers.json: expected values are what OPA v1 returns).

A builtin that fails somewhere may still be right in a narrower call form that the scanner
can recognise from literal arguments (embedded_forms): a test tagged with a form vouches for
that form too, and a form is accepted when all its tests pass.

This module runs the tests on regopy. Their results are committed as the lists in
embedded_allowlist (the test suite re-runs them so they cannot drift), which embedded_refusals
checks policies against. Regenerate the lists with `python3 -m checker.engines.embedded_capabilities`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.engines.embedded_forms import form_builtin
from checker.engines.workers import die_with_parent

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


if __name__ == "__main__":
    print(render_lists(run_known_answers(), run_form_answers()), end="")
