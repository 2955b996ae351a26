"""The embedded engine's errors, pinned to a policy file and line where they can be.

rego-cpp reports compile errors as an s-expression, `(rego-errorseq (error [N:file|offset|len]
(errormsg N:text) (errorast ... N:file|offset|len ...)))`: the location is on the error itself
or, for some passes (an import that shadows another), only inside the offending AST. Errors it
finds while evaluating (it compiles lazily, per input) name at most a rule (`data.pkg.rule`) or
a function; those are looked up in the modules' text. What cannot be located says so and points
at the OPA engine, which names file and line for the same policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from checker import rego_scan
from checker.engines.embedded_arrays import array_rule_line, shown_rule_names
from checker.errors import Problem

_ERROR = re.compile(r"\(error\b")
_LENGTH = re.compile(r"(\d+):")
_OFFSET = re.compile(r"\|(\d+)\|")
_MESSAGE = re.compile(r"\(errormsg (\d+):")
_RULE_REF = re.compile(r"\bdata\.([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)\b")
_FUNCTION = re.compile(r"^Function not found: ([\w.]+)")
NO_LOCATION = "(the embedded engine names no file for it; --engine opa does)"


def _location(block: str, sources: Mapping[str, str]) -> tuple[str, int] | None:
    """The first `N:file|offset|` in an error block whose file is one of the modules."""
    for match in _LENGTH.finditer(block):
        end = match.end() + int(match.group(1))
        file = block[match.end():end]
        offset = _OFFSET.match(block, end)
        if file in sources and offset:
            return file, sources[file].encode()[:int(offset.group(1))].count(b"\n") + 1
    return None


def compile_problems(error_text: str, sources: Mapping[str, str]) -> list[Problem]:
    """rego-cpp's compile error text -> problems with file and line."""
    problems = []
    for block in _ERROR.split(error_text)[1:]:
        message_match = _MESSAGE.search(block)
        message = (block[message_match.end():message_match.end() + int(message_match.group(1))]
                   if message_match else "does not compile")
        where = _location(block, sources) or locate(message, sources)
        if where is None:
            problems.append(Problem("", None, f"policy error: {message} {NO_LOCATION}"))
        else:
            problems.append(Problem(where[0], where[1], f"policy error: {message}"))
    return problems or [Problem("", None, f"policy error: {error_text.strip()[:500]} {NO_LOCATION}")]


def locate(message: str, sources: Mapping[str, str]) -> tuple[str, int] | None:
    """(file, line) that an evaluation error names: a rule `data.pkg.rule` or a missing function."""
    function = _FUNCTION.match(message)
    if function:
        for path, source in sources.items():
            for call in rego_scan.function_calls(source):
                if call.name == function.group(1) or call.name.endswith(f".{function.group(1)}"):
                    return path, call.line
    for match in _RULE_REF.finditer(message):
        package, rule = match.groups()
        for path, source in sources.items():
            if rego_scan.package_name(source) == package:
                line = array_rule_line(rule)
                if line is not None:
                    return path, line
                head = re.search(rf"^{re.escape(rule)}\b", source, re.MULTILINE)
                return path, source.count("\n", 0, head.start()) + 1 if head else 1
    return None


def evaluation_problem(key: str, message: str, sources: Mapping[str, str]) -> Problem:
    where = locate(message, sources)
    message = shown_rule_names(message)
    if where is None:
        return Problem("", None, f"evaluating group {key}: {message} {NO_LOCATION}")
    return Problem(where[0], where[1], f"evaluating group {key}: {message}")
