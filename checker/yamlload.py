"""Strict YAML reading that keeps a line for every value.

PyYAML's C parser builds the node graph; we turn nodes into plain values ourselves so that
we can (a) reject duplicate keys, (b) bound alias expansion before anything is expanded,
(c) record the line of every mapping key and sequence item, and (d) resolve booleans the
YAML 1.2 way, so that `location: NO` (Norway) stays a string.
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from bisect import bisect_left
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

# What aliases may add to a document once followed (a "billion laughs" guard), in bytes: every
# scalar's characters plus NODE_COST per node, at most ALIAS_GROWTH times the document's own size
# plus ALIAS_ALLOWANCE. Counted on the node graph, so a bomb is refused before anything is expanded.
ALIAS_GROWTH = 40
ALIAS_ALLOWANCE = 256 * 1024
NODE_COST = 16
# Deepest nesting of mappings and sequences read (inventories need 5 levels, policy data a few more);
# deeper documents are refused with the line where the limit is crossed, never a RecursionError.
MAX_DEPTH = 100
# What YAML refuses to read (PyYAML's Reader.NON_PRINTABLE), found again to name its line.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")
# Characters YAML counts as line breaks and git does not (a lone CR is matched by \r).
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")


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


class _Lines:
    """Line numbers as git and GitHub count them: `\\n` ends a line, nothing else does.

    PyYAML also counts a lone CR, U+0085, U+2028 and U+2029 as breaks, so its mark.line drifts
    after one; the mark's character index does not, and is mapped through the `\\n` positions.
    """

    def __init__(self, text: str) -> None:
        self._newlines: array[int] | None = None
        if _OTHER_BREAKS.search(text):
            self._newlines = array("q", (m.start() for m in re.finditer("\n", text)))

    def of(self, mark: yaml.Mark | None) -> int | None:
        if mark is None:
            return None
        if self._newlines is None:
            return int(mark.line) + 1
        return bisect_left(self._newlines, int(mark.index)) + 1


def line_at(text: str, index: int) -> int:
    """The git line of a character index."""
    return text.count("\n", 0, index) + 1


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
    bad = _NON_PRINTABLE.search(text)
    if bad:  # the reader would refuse it with a byte offset; name the line instead
        raise YamlProblem(line_at(text, bad.start()), f"not valid YAML: control character "
                                                      f"U+{ord(bad.group()):04X} is not allowed in YAML text")
    lines = _Lines(text)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            line = lines.of(exc.problem_mark or exc.context_mark)
            raise YamlProblem(line, f"not valid YAML: {exc.problem or exc}") from None
        except yaml.YAMLError as exc:
            raise YamlProblem(None, f"not valid YAML: {exc}") from None
        except RecursionError:  # the pure-Python composer recurses per level
            raise YamlProblem(None, f"nested more than {MAX_DEPTH} levels deep") from None
        if node is None:
            return None
        if "&" in text:  # no anchor, no alias: skip the walk on the common path
            _check_expansion(node, len(text), lines)
        doc = Document(None, {}, {}, lines.of(node.start_mark) or 1)
        value = _Converter(loader, lines, doc).convert(node, (), 0)
        return Document(value, doc.key_lines, doc.item_lines, doc.root_line)
    finally:
        loader.dispose()


def alias_budget(size: int) -> int:
    """The most bytes aliases may add to a document of `size` characters."""
    return ALIAS_GROWTH * size + ALIAS_ALLOWANCE


def _check_expansion(root: yaml.Node, size: int, lines: _Lines) -> None:
    """Refuse documents whose aliases would add more than alias_budget(size) bytes once expanded.

    Bytes, not nodes: one 500 KB scalar aliased 2,000 times is a handful of nodes and a gigabyte.
    """
    budget = alias_budget(size)
    sizes: dict[int, int] = {}  # node -> its expanded cost
    distinct = 0  # the cost of every node once, as written
    visiting: set[int] = set()
    # Iterative post-order walk: the node graph is a DAG (or has a cycle, which we refuse).
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            visiting.discard(key)
            own = NODE_COST + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
            total = own + sum(sizes[id(c)] for c in _children(node))
            sizes[key] = total
            distinct += own
            if total - distinct > budget:
                raise YamlProblem(lines.of(node.start_mark),
                                  f"aliases expand this document by more than {budget:,} bytes "
                                  f"({ALIAS_GROWTH} times its size plus {ALIAS_ALLOWANCE // 1024} KiB): "
                                  "an alias bomb?")
            continue
        if key in sizes:
            continue
        if key in visiting:
            raise YamlProblem(lines.of(node.start_mark), "recursive alias")
        visiting.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class _Converter:
    """Nodes -> plain values, recording the git line of every key and item."""

    loader: _Loader
    lines: _Lines
    doc: Document

    def convert(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        line = self.lines.of(node.start_mark)
        if depth >= MAX_DEPTH:
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise YamlProblem(line, f"unsupported tag {node.tag}")
            result: dict[str, Any] = {}
            key_lines: dict[str, int] = {}
            self.doc.key_lines[path] = key_lines
            for key_node, value_node in node.value:
                key_line = self.lines.of(key_node.start_mark) or 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(key_line, "merge keys (<<) are not supported")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlProblem(key_line, "mapping keys must be plain scalars")
                key = self.scalar(key_node)
                if not isinstance(key, str):
                    key = str(key)
                if key in result:
                    raise YamlProblem(key_line, f"duplicate key {key!r} (first at line {key_lines[key]})")
                key_lines[key] = key_line
                result[key] = self.convert(value_node, (*path, key), depth + 1)
            return result
        assert isinstance(node, yaml.SequenceNode)
        if node.tag != "tag:yaml.org,2002:seq":
            raise YamlProblem(line, f"unsupported tag {node.tag}")
        self.doc.item_lines[path] = [self.lines.of(item.start_mark) or 1 for item in node.value]
        return [self.convert(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR_TAG:  # most values: skip the constructor machinery (a third of load time)
            return node.value
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # e.g. 2026-02-30: leave the text for the schema's date check to name
            problem = getattr(exc, "problem", None) or str(exc)
            raise YamlProblem(self.lines.of(node.start_mark), f"bad value {node.value!r}: {problem}") from None
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, bytes):
            raise YamlProblem(self.lines.of(node.start_mark), "binary values are not supported")
        return value

