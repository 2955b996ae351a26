"""The options every command receives, parsed by checker.cli (kept here so commands never import the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Options:
    inventories: Path
    policies: Path
    as_of: str
    engine: str
    opa_urls: tuple[str, ...]
    opa_token: str | None
    format: str
    output: str | None
    fail_on: str
    jobs: int
    cache: bool
    sarif_max_results: int = 5_000  # sarif only (SPEC §9)
    markdown_max_bytes: int = 60_000  # markdown only: table rows' budget (SPEC §9: a comment by default)
    link_base: str | None = None  # html only: links to files are this + path
    color: str = "auto"  # the table report: auto | always | never
    show_unchanged: bool = False  # diff's table report: list unchanged findings too
