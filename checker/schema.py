"""JSON Schema validation of inventory files, with errors in words a person reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from checker import countries, dates
from checker.errors import Problem
from checker.yamlload import Document

_END = "(?![\\s\\S])"  # the schemas' end-of-string anchor
_JSON_TYPES = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


@cache
def inventory_schema() -> dict[str, Any]:
    text = resources.files("checker").joinpath("schemas/inventory-v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date")(lambda value: not isinstance(value, str) or dates.problem(value) is None)


def _unique_items(validator: Draft202012Validator, unique: bool, instance: Any, schema: dict[str, Any]
                  ) -> Iterator[ValidationError]:
    """uniqueItems in linear time: jsonschema's own falls back to comparing every pair of items
    when one is not a string (a 300 KB file took 50 s)."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _identity(item)
        if key in seen:
            yield ValidationError(f"{item!r} is listed more than once")
            return
        seen.add(key)


def _identity(value: Any) -> Any:
    """A hashable stand-in equal exactly when JSON Schema calls two values equal (true is not 1)."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, list):
        return ("l", tuple(_identity(v) for v in value))
    if isinstance(value, dict):
        return ("d", frozenset((k, _identity(v)) for k, v in value.items()))
    return ("s", value)


_Validator = validators.extend(Draft202012Validator, {"uniqueItems": _unique_items})


@cache
def inventory_validator() -> Draft202012Validator:
    # The schema has no recursion, so its local $refs can be inlined: resolving them dominated
    # validation time on large inventories (about 40% of it).
    inlined = _inline_refs(inventory_schema(), inventory_schema().get("$defs", {}))
    return _Validator(inlined, format_checker=_FORMATS)


@cache
def record_validator(section: str) -> Draft202012Validator:
    """The schema of one record of `people`, `groups` or `waivers`."""
    record = inventory_validator().schema["properties"][section]["items"]
    return _Validator(record, format_checker=_FORMATS)


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"$ref"} and node["$ref"].startswith("#/$defs/"):
            return _inline_refs(defs[node["$ref"].removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@cache
def policy_data_validator() -> Draft202012Validator:
    text = resources.files("checker").joinpath("schemas/policy-data-v1.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return _Validator(schema)


def validate_policy_data(doc: Document, file: str) -> list[Problem]:
    """Every violation of the SPEC §4 data shape in one policy data file: a typo there (`yes` for
    true, a quoted number) would otherwise turn rules off without a word."""
    return validate(doc, file, policy_data_validator())


# The keywords whose meaning is the same in draft 7 (what fastjsonschema compiles) and 2020-12 (the
# schema's draft), given an `items` that is one schema and no $ref left (inlined above).
_SAME_IN_DRAFT_7 = frozenset({"$schema", "$id", "$comment", "title", "description", "type", "properties",
                              "additionalProperties", "required", "items", "pattern", "format", "minLength",
                              "enum", "propertyNames", "uniqueItems"})


@cache
def inventory_check() -> Callable[[Any], Any] | None:
    """A compiled validator that only answers valid or not, about ten times faster than jsonschema's,
    or None when the schema uses a keyword outside _SAME_IN_DRAFT_7. A file it accepts needs nothing
    more; a file it rejects goes through jsonschema for every error in words, so it is never the
    only judge of a rejection (tests/test_schema_fast.py holds it to jsonschema's answers)."""
    schema = inventory_validator().schema
    if not _keywords(schema) <= _SAME_IN_DRAFT_7:
        return None
    draft7 = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    return fastjsonschema.compile(draft7, formats={"date": lambda value: dates.problem(value) is None},
                                  use_formats=True)


def _keywords(node: Any) -> set[str]:
    """The keywords used anywhere in a schema (the names under `properties` are not keywords)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    elif isinstance(node, dict):
        found |= set(node)
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for inner in value.values():
                    found |= _keywords(inner)
            elif key == "items" and isinstance(value, list):
                found.add("items as a list")  # a tuple in draft 7, an error in 2020-12
            else:
                found |= _keywords(value)
    return found


def is_valid_inventory(value: Any) -> bool:
    """What inventory_validator() says of `value`, answered by the compiled check when there is one."""
    check = inventory_check()
    if check is None:
        return bool(inventory_validator().is_valid(value))
    try:
        check(value)
    except Exception:  # a rejection, or anything the compiled code did not foresee: jsonschema judges
        return False
    return True


def validate(doc: Document, file: str, validator: Draft202012Validator | None = None) -> list[Problem]:
    """Every schema violation in one parsed file, each with its line."""
    if validator is None and is_valid_inventory(doc.value):
        return []  # nearly every file, decided without jsonschema's slower walk
    problems = []
    for error in (validator or inventory_validator()).iter_errors(doc.value):
        path = tuple(error.absolute_path)
        line = doc.line(path)
        if error.validator == "additionalProperties":
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            for key in extra:
                where = "top-level key" if not path else "field"
                problems.append(Problem(file, doc.line((*path, key)), f"unknown {where} {key!r}{_at(path)}"))
            continue
        problems.append(Problem(file, line, _describe(error, path)))
    return sorted(problems, key=lambda p: (p.line or 0, p.message))


def _at(path: tuple[Any, ...]) -> str:
    return f" in {_path_text(path)}" if path else ""


def _path_text(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: jsonschema.ValidationError, path: tuple[Any, ...]) -> str:
    name = _path_text(path) or "the file"
    instance = error.instance
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return f"missing required field {missing[0]!r} in {name}" if missing else error.message
    if error.validator == "type":
        expected = {"object": "mapping", "array": "list"}.get(error.validator_value, error.validator_value)
        return f"{name} must be a {expected}, not a {_JSON_TYPES.get(type(instance), type(instance).__name__)}" \
            + (f" ({instance!r})" if not isinstance(instance, dict | list) else "")
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{name}: {instance!r} is not one of {allowed}"
    if error.validator == "pattern":
        pattern = str(error.validator_value).replace(_END, "$")
        if pattern == "^[A-Z]{2}$":
            return f"{name}: {instance!r} is not an ISO 3166-1 alpha-2 country code{countries.hint(instance)}"
        return f"{name}: {instance!r} is not a valid id ({pattern})"
    if error.validator == "format" and error.validator_value == "date":
        return f"{name}: {instance!r} {dates.problem(instance)}"
    if error.validator == "uniqueItems":
        seen: set[Any] = set()
        dupes = [v for v in instance if (_identity(v) in seen) or seen.add(_identity(v))]  # type: ignore[func-returns-value]
        return f"{name} lists {dupes[0]!r} more than once" if dupes else f"{name} has duplicate items"
    if error.validator == "minLength":
        return f"{name} must not be empty"
    return f"{name}: {error.message}"
