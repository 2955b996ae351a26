"""One group's input handed to rego-cpp, and the evaluation budget that goes with it.

rego-cpp stops a query after a fixed number of VM statements (10,000,000 in 1.5.2: its guard
against runaway policies). The shipped pack spends about 400 statements per group member, so a
25,000-member group hit that guard and failed. regopy does not expose the setting, but rego-cpp's
C handle is the C++ `rego::Interpreter` itself and the setter is an exported symbol, so the limit
is set per input: the default plus STATEMENTS_PER_VALUE for each value in the input. Work stays
bounded and linear in the input (a policy that compares every pair of members still stops, exit 2),
while any pack of the shipped pack's kind fits with room to spare.
"""

from __future__ import annotations

import ctypes
import json
import re
from collections.abc import Mapping
from typing import Any

from checker.errors import EngineError

DEFAULT_STATEMENTS = 10_000_000  # rego-cpp 1.5.2's own limit per query
STATEMENTS_PER_VALUE = 250  # on top, per value in the input (the shipped pack needs ~35)
LIMIT_MESSAGE = "Maximum statement count reached"

_SETTER = "_ZN4rego11Interpreter10stmt_limitEm"  # rego::Interpreter::stmt_limit(size_t)
_GETTER = "_ZNK4rego11Interpreter10stmt_limitEv"  # rego::Interpreter::stmt_limit() const

_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def statement_limit(values: int, base: int = DEFAULT_STATEMENTS) -> int:
    """The statements one query may run for an input of `values` values (strings, numbers, ...)."""
    return base + STATEMENTS_PER_VALUE * values


def limit_setter(interp: Any) -> Any | None:
    """A function (limit) -> None that sets the interpreter's statement limit, or None where this
    regopy has no such symbol or does not read back what was set (the default limit then holds,
    and an input that needs more fails the run as it did before)."""
    from regopy.rego_shared import rego

    try:
        setter, getter = getattr(rego, _SETTER), getattr(rego, _GETTER)
    except AttributeError:
        return None
    setter.restype, setter.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t]
    getter.restype, getter.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
    handle = interp._impl
    if getter(handle) != DEFAULT_STATEMENTS:
        return None
    setter(handle, DEFAULT_STATEMENTS + 1)
    if getter(handle) != DEFAULT_STATEMENTS + 1:
        return None
    setter(handle, DEFAULT_STATEMENTS)

    def set_limit(limit: int) -> None:
        setter(handle, limit)

    return set_limit


def escaped(value: Any) -> Any:
    """The input with strings in the escaped form rego-cpp keeps strings in internally.

    rego-cpp stores a string as the text between the quotes of its JSON literal (policy literals
    and the strings it builds are escaped), but regopy's set_input passes Python strings through
    unescaped: a quote or newline from the inventory would then compare unequal to the same text
    in a policy, and corrupt (or forge) the JSON result. Strings without such characters, nearly
    all of them, are passed as they are.
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1] if _NEEDS_ESCAPE.search(value) else value
    if isinstance(value, Mapping):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(v) for v in value]
    return value


def escaped_document(document: Mapping[str, Any]) -> Any:
    """escaped(document), without walking it when no string in it needs escaping (nearly always):
    json.dumps writes a backslash exactly where a key or string holds a character _NEEDS_ESCAPE finds."""
    try:
        if "\\" not in json.dumps(document, ensure_ascii=False):
            return document
    except (TypeError, ValueError):
        pass
    return escaped(document)


def set_input(interp: Any, document: Any) -> int:
    """interp.set_input(document), built node by node with rego-cpp's C calls directly: regopy's
    own builder spends most of a small input's time in Python dispatch and string buffers (about
    half of a person-scope evaluation; rego-cpp's JSON and Rego-term text paths are 3-6 times
    slower than this for a big group). Any failing call fails the evaluation. Returns the number
    of values in the input (object keys included)."""
    from regopy.rego_shared import Code, RegoError, rego, rego_free_input, rego_new_input, rego_set_input

    handle = rego_new_input()
    string, item, obj, array = rego.regoInputString, rego.regoInputObjectItem, rego.regoInputObject, rego.regoInputArray
    failed: list[Any] = []
    count = 0

    def add(value: Any) -> None:
        nonlocal count
        count += 1
        kind = type(value)
        if kind is str:
            code = string(handle, value.encode())
        elif kind is dict:
            for key, inner in value.items():
                add(key)
                add(inner)
                if item(handle) != Code.OK:
                    failed.append(value)
            code = obj(handle, len(value))
        elif kind is list or kind is tuple:
            for inner in value:
                add(inner)
            code = array(handle, len(value))
        elif kind is bool:
            code = rego.regoInputBoolean(handle, value)
        elif kind is int:
            code = rego.regoInputInt(handle, value)
        elif kind is float:
            code = rego.regoInputFloat(handle, value)
        elif value is None:
            code = rego.regoInputNull(handle)
        else:
            raise EngineError(f"cannot pass a {kind.__name__} to the embedded engine")
        if code != Code.OK:
            failed.append(value)

    try:
        add(document)
        if failed:
            raise EngineError(f"the embedded engine refused an input value ({json_preview(failed[0])})")
        rego_set_input(interp._impl, handle)
    except RegoError as exc:
        raise EngineError(f"the embedded engine refused the input: {exc}") from None
    finally:
        rego_free_input(handle)
    return count


def json_preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
