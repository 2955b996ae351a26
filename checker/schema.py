"""JSON Schema validation of inventory files, with errors in words a person reads."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

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


@cache
def inventory_validator() -> Draft202012Validator:
    # The schema has no recursion, so its local $refs can be inlined: resolving them dominated
    # validation time on large inventories (about 40% of it).
    inlined = _inline_refs(inventory_schema(), inventory_schema().get("$defs", {}))
    return Draft202012Validator(inlined, format_checker=Draft202012Validator.FORMAT_CHECKER)


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
    return Draft202012Validator(schema)


def validate_policy_data(doc: Document, file: str) -> list[Problem]:
    """Every violation of the SPEC §4 data shape in one policy data file: a typo there (`yes` for
    true, a quoted number) would otherwise turn rules off without a word."""
    return validate(doc, file, policy_data_validator())


def validate(doc: Document, file: str, validator: Draft202012Validator | None = None) -> list[Problem]:
    """Every schema violation in one parsed file, each with its line."""
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
        what = {"^[A-Z]{2}$": "an ISO 3166-1 alpha-2 country code",
                "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a YYYY-MM-DD date"}.get(pattern, "a valid id")
        return f"{name}: {instance!r} is not {what} ({pattern})"
    if error.validator == "format" and error.validator_value == "date":
        return f"{name}: {instance!r} is not a valid date"
    if error.validator == "uniqueItems":
        seen: set[Any] = set()
        dupes = [v for v in instance if (json.dumps(v) in seen) or seen.add(json.dumps(v))]  # type: ignore[func-returns-value]
        return f"{name} lists {dupes[0]!r} more than once" if dupes else f"{name} has duplicate items"
    if error.validator == "minLength":
        return f"{name} must not be empty"
    return f"{name}: {error.message}"
