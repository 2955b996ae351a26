"""The *_test.rego tests: with `opa test` when the binary is on PATH, else judged from the
test rules' values read back from a server, as `opa test` judges them."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import EngineError, PolicyError, Problem
from checker.policies import Module, PolicySet

_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.MULTILINE)
DUPLICATE_TEST_SUFFIX = "__checker_definition_"  # test_x's second definition is uploaded as test_x__..._01


def rego_test_rules(source: str) -> list[str]:
    """The test_* rules a module defines (rule heads start a line; comment lines start with #)."""
    return list(dict.fromkeys(_TEST_RULE.findall(source)))


@dataclass(frozen=True)
class RegoTest:
    """One definition of a test_* rule."""

    name: str  # as `opa test` reports it: test_x, then test_x#01, test_x#02 for later definitions
    uploaded: str  # the rule name it is uploaded under
    line: int
    parametrized: bool  # test_x[case] ...: a partial object whose every value must be true


def distinct_test_rules(modules: Sequence[Module]) -> dict[str, tuple[str, list[RegoTest]]]:
    """module path -> (its source with later definitions of test rules renamed, its test definitions).

    `opa test` runs each definition of a test rule on its own, counting definitions per package
    across modules (tester.rewriteDuplicateTestNames), while the rule's document is true as soon
    as one definition is: querying it would hide a failing second definition. So the second
    definition of test_x is uploaded as test_x__checker_definition_01 and reported as test_x#01.
    Only rule heads at the start of a line are renamed; lines are unchanged."""
    seen: dict[tuple[str | None, str], int] = {}
    return {module.path: _distinct_tests(module, seen) for module in modules}


def _distinct_tests(module: Module, seen: dict[tuple[str | None, str], int]) -> tuple[str, list[RegoTest]]:
    tests: list[RegoTest] = []
    line = [1, 0]  # the line at offset line[1], counted on from the previous match (linear overall)

    def rename(match: re.Match[str]) -> str:
        name = match.group(1)
        count = seen[module.package, name] = seen.get((module.package, name), -1) + 1
        uploaded = name if count == 0 else f"{name}{DUPLICATE_TEST_SUFFIX}{count:02d}"
        line[0] += module.source.count("\n", line[1], match.start())
        line[1] = match.start()
        tests.append(RegoTest(name if count == 0 else f"{name}#{count:02d}", uploaded, line[0],
                              module.source.startswith("[", match.end())))
        return uploaded

    return _TEST_RULE.sub(rename, module.source), tests


def rego_test_verdict(value: Any, parametrized: bool) -> tuple[bool, str]:
    """Whether a test rule's value passes, as `opa test` judges it; why not when it does not.

    A plain test passes when it is true. A parametrized one (test_x[case] ...) is a partial
    object: it passes when every case's value is true, nested objects included (tester.subResults)."""
    if not parametrized:
        return (True, "") if value is True else (False, "the test is false or undefined")
    if not isinstance(value, dict):
        return False, "the test is undefined"
    failing = [case for case, passed in _case_results(value) if not passed]
    if failing:
        return False, f"failing case(s): {', '.join(failing[:10])}" + (" ..." if len(failing) > 10 else "")
    return True, ""


def _case_results(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, bool]]:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            yield from _case_results(item, f"{name}/")
        else:
            yield name, item is True


# ---------------------------------------------------------------- `opa test`


def write_test_tree(root: Path, policy_set: PolicySet) -> dict[str, str]:
    """Modules, test modules and data.json under root, as `opa test` loads them.

    Files get short safe names (display paths can be absolute or hold `..`); the merged policy
    data goes to data.json at the root, which OPA merges at the root of `data`, as checker does.
    Returns written path -> display path."""
    names: dict[str, str] = {}
    for index, module in enumerate([*policy_set.modules, *policy_set.test_modules]):
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", module.path.rsplit("/", 1)[-1])
        target = root / "m" / f"{index:03d}_{safe}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(module.source, encoding="utf-8")
        names[str(target)] = module.path
    (root / "data.json").write_text(json.dumps(policy_set.data), encoding="utf-8")
    return names


def replace_paths(text: str, names: Mapping[str, str]) -> str:
    for written in sorted(names, key=len, reverse=True):
        text = text.replace(written, names[written])
    return text


def parse_test_report(report: Any, names: Mapping[str, str]) -> list[tuple[str, bool, str]]:
    """`opa test --format=json` results -> (name, passed, detail); skipped (todo_) tests are left out."""
    results = []
    for item in report if isinstance(report, list) else []:
        if not isinstance(item, dict) or item.get("skip"):
            continue
        package = str(item.get("package") or "").removeprefix("data.")
        name = f"{package}.{item.get('name')}" if package else str(item.get("name"))
        location: dict[str, Any] = item["location"] if isinstance(item.get("location"), dict) else {}
        where = names.get(str(location.get("file") or ""), str(location.get("file") or ""))
        if where and location.get("row"):
            where = f"{where}:{location['row']}"
        error = item.get("error")
        passed = not item.get("fail") and not error
        detail = ""
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            detail = f"{where}: error: {replace_paths(str(message or error), names)}"
        elif not passed:
            detail = f"{where}: the test is false or undefined"
        output = item.get("output")
        if not passed and isinstance(output, str) and output:
            with contextlib.suppress(ValueError):
                printed = base64.b64decode(output).decode("utf-8", "replace").strip()
                detail += f"\n    printed: {printed[:500]}"
        results.append((name, passed, detail))
    return results


def run_opa_test(binary: str, policy_set: PolicySet, coverage: bool, timeout: float
                 ) -> tuple[list[tuple[str, bool, str]], float | None]:
    """Run `opa test --format=json [--coverage]` over the policy set in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="checker-opa-test-") as tmp:
        names = write_test_tree(Path(tmp), policy_set)
        command = [binary, "test", "--format=json", *(["--coverage"] if coverage else []), tmp]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EngineError(f"`opa test` did not finish within {timeout:g}s") from None
        except OSError as exc:
            raise EngineError(f"could not run {binary!r}: {exc}") from None
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            text = replace_paths(f"{proc.stdout}\n{proc.stderr}".strip(), names)
            if coverage and "FAIL" in text:
                raise PolicyError([Problem("", None, "coverage is reported only when every *_test.rego test "
                                                     "passes; failing tests:\n" + text[:4000])]) from None
            raise PolicyError(_loading_problems(text)) from None
    if coverage:
        percent = report.get("coverage") if isinstance(report, dict) else None
        return [], float(percent) if isinstance(percent, int | float) else None
    return parse_test_report(report, names), None


_LOAD_ERROR = re.compile(r"(?:^|: |\s)(?P<file>[^\s:]+\.rego):(?P<line>\d+):\s*(?P<message>.+)$")


def _loading_problems(text: str) -> list[Problem]:
    """`opa test`'s load errors ("file:line: rego_parse_error: ...") as Problems with file and line."""
    problems = []
    for line in text.splitlines():
        match = _LOAD_ERROR.search(line)
        if match:
            problems.append(Problem(match.group("file"), int(match.group("line")), match.group("message")))
    return problems or [Problem("", None, f"`opa test` failed: {text[:2000] or '(no output)'}")]
