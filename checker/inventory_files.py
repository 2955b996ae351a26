"""Inventory files on disk: which files count, and their bytes, read safely (never past the size
limit). The first step of checker.inventory: read -> parse_source -> build."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from checker.errors import Problem
from checker.walk import Found, walk

DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")


def max_file_bytes() -> int:
    return int(os.environ.get("CHECKER_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES))


@dataclass(frozen=True)
class SourceFile:
    path: str  # as shown to users, e.g. inventories/groups/lark/ops.yaml
    data: bytes


def is_inventory_file(name: str) -> bool:
    """SPEC §2: `*.yaml` / `*.yml`, the suffix compared case-insensitively."""
    return name.lower().endswith(YAML_SUFFIXES)


def read_tree(root: Path, display_root: str | None = None) -> tuple[list[SourceFile], list[Problem]]:
    """Every YAML file under root (hidden ones too; only `.git` folders are skipped), with the
    problems of files that could not be read safely. Nothing is skipped silently (see checker.walk)."""
    found, problems = list_tree(root, display_root)
    sources, more = read_found(found)
    return sources, problems + more


def list_tree(root: Path, display_root: str | None = None) -> tuple[list[Found], list[Problem]]:
    """The YAML files read_tree would read, sorted by the path users see, without reading them."""
    display_root = display_root if display_root is not None else str(root)
    if not root.is_dir():
        return [], [Problem(display_root, None, "inventory folder not found")]
    found, problems = walk(root, display_root, is_inventory_file, "inventory", "YAML file")
    return sorted(found, key=lambda f: f.shown), problems


def read_found(found: Iterable[Found]) -> tuple[list[SourceFile], list[Problem]]:
    """The bytes of these files, and the problems of those that could not be read safely."""
    sources: list[SourceFile] = []
    problems: list[Problem] = []
    limit = max_file_bytes()
    for file in found:
        source, problem = read_file(file.path, file.shown, file.size, limit)
        if problem:
            problems.append(problem)
        elif source:
            sources.append(source)
    return sources, problems


def read_file(path: Path, shown: str, size: int, limit: int) -> tuple[SourceFile | None, Problem | None]:
    """One file's bytes, refused past `limit` before and while reading."""
    if size > limit:
        return None, Problem(shown, None, f"file is {size:,} bytes, over the limit of {limit:,} "
                                          "(CHECKER_MAX_FILE_BYTES)")
    try:
        with path.open("rb") as handle:
            # The size as listed, plus a byte to notice growth: read(limit + 1) would allocate a
            # limit-sized buffer per file and leave a memory mapping behind for each (a 100,000-file
            # tree ran out of mappings). Never more than the limit, even if the file grew.
            data = handle.read(min(size, limit) + 1)
            if len(data) > size:
                data += handle.read(limit + 1 - len(data))
    except OSError as exc:
        return None, Problem(shown, None, f"cannot read: {exc.strerror or exc}")
    if len(data) > limit:
        return None, Problem(shown, None, f"file is over the limit of {limit:,} bytes (CHECKER_MAX_FILE_BYTES)")
    return SourceFile(shown, data), None
