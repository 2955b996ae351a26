"""Strict YAML reading that keeps a line for every value.

PyYAML's C parser builds the node graph; we turn nodes into plain values ourselves so that
we can (a) reject duplicate keys, (b) bound alias expansion before anything is expanded,
(c) record the line of every mapping key and sequence item, and (d) resolve booleans the
YAML 1.2 way, so that `location: NO` (Norway) stays a string.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner


class _PyParser(Reader, Scanner, Parser, Composer):
    """Pure-Python equivalent of CParser, for PyYAML builds without libyaml."""

    def __init__(self, stream: Any) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)


try:  # The C parser is ~6x faster on large inventories.
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = _PyParser  # type: ignore[misc,assignment]

Path_ = tuple[str | int, ...]

# Most nodes that aliases may add to a document once followed (a "billion laughs" guard).
# Counted on the node graph, so a bomb is refused before anything is expanded.
MAX_ALIAS_EXPANSION = 100_000


class _Resolver(BaseResolver):
    """YAML 1.2 core-schema style resolution: only true/false are booleans."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:timestamp",
    re.compile(r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
               r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?"
               r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"),
    list("0123456789"),
)
_Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


class _Loader(_Parser, SafeConstructor, _Resolver):
    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Document:
    """A parsed YAML document: its value and the line of every key and item.

    Lines are kept per container (the path of a mapping -> {key: line}, of a sequence ->
    [line per item]) so that a record's field lines are one lookup, not one per field.
    """

    value: Any
    key_lines: dict[Path_, dict[str, int]]
    item_lines: dict[Path_, list[int]]
    root_line: int = 1

    def line(self, path: Path_) -> int | None:
        """The line of `path`, or of its closest ancestor that has one."""
        while path:
            parent, last = path[:-1], path[-1]
            if isinstance(last, int):
                items = self.item_lines.get(parent)
                if items is not None and 0 <= last < len(items):
                    return items[last]
            else:
                keys = self.key_lines.get(parent)
                if keys is not None and last in keys:
                    return keys[last]
            path = parent
        return self.root_line

    def keys_at(self, path: Path_) -> dict[str, int]:
        """{key: line} of the mapping at `path`."""
        return self.key_lines.get(path, {})

    def items_at(self, path: Path_) -> list[int]:
        """The line of each item of the sequence at `path`."""
        return self.item_lines.get(path, [])


def parse(text: str) -> Document | None:
    """Parse one YAML document strictly. None for an empty file. Raises YamlProblem."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise YamlProblem(line, f"not valid YAML: {exc.problem or exc}") from None
        except yaml.YAMLError as exc:
            raise YamlProblem(None, f"not valid YAML: {exc}") from None
        if node is None:
            return None
        if "&" in text:  # no anchor, no alias: skip the walk on the common path
            _check_expansion(node)
        doc = Document(None, {}, {}, node.start_mark.line + 1)
        try:
            value = _convert(loader, node, (), doc)
        except RecursionError:
            raise YamlProblem(node.start_mark.line + 1, "nested too deeply to read") from None
        return Document(value, doc.key_lines, doc.item_lines, doc.root_line)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Refuse documents whose aliases would add more than MAX_ALIAS_EXPANSION nodes."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    # Iterative post-order walk: the node graph is a DAG (or has a cycle, which we refuse).
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            visiting.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            sizes[key] = total
            if total - len(sizes) > MAX_ALIAS_EXPANSION:
                raise YamlProblem(node.start_mark.line + 1,
                                  f"aliases expand this document by more than {MAX_ALIAS_EXPANSION:,} "
                                  "nodes (an alias bomb?)")
            continue
        if key in sizes:
            continue
        if key in visiting:
            raise YamlProblem(node.start_mark.line + 1, "recursive alias")
        visiting.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _convert(loader: _Loader, node: yaml.Node, path: Path_, doc: Document) -> Any:
    if isinstance(node, yaml.MappingNode):
        if node.tag != "tag:yaml.org,2002:map":
            raise YamlProblem(node.start_mark.line + 1, f"unsupported tag {node.tag}")
        result: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        doc.key_lines[path] = key_lines
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem(line, "merge keys (<<) are not supported in inventories")
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(line, "mapping keys must be plain scalars")
            key = _scalar(loader, key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise YamlProblem(line, f"duplicate key {key!r} (first at line {key_lines[key]})")
            key_lines[key] = line
            result[key] = _convert(loader, value_node, (*path, key), doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            raise YamlProblem(node.start_mark.line + 1, f"unsupported tag {node.tag}")
        items = []
        doc.item_lines[path] = [item.start_mark.line + 1 for item in node.value]
        for index, item in enumerate(node.value):
            items.append(_convert(loader, item, (*path, index), doc))
        return items
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(loader, node)


_STR_TAG = "tag:yaml.org,2002:str"


def _scalar(loader: _Loader, node: yaml.ScalarNode) -> Any:
    if node.tag == _STR_TAG:  # most values: skip the constructor machinery (a third of load time)
        return node.value
    try:
        value = loader.construct_object(node, deep=True)
    except (yaml.constructor.ConstructorError, ValueError) as exc:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # e.g. 2026-02-30: leave the text for the schema's date check to name
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlProblem(node.start_mark.line + 1, f"bad value {node.value!r}: {problem}") from None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        raise YamlProblem(node.start_mark.line + 1, "binary values are not supported")
    return value
