"""Markup helpers the HTML report's modules share: escaping, tables, cells, badges, links, defensive meta reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from checker.models import Finding, RunResult

STATUSES = ("deny", "warn", "waived")  # a finding's status: waived, else its level
STATUS_LABELS = {"deny": "open deny", "warn": "open warn", "waived": "waived"}


def status(finding: Finding) -> str:
    return "waived" if finding.waived else finding.level


def e(value: object) -> str:
    """Escaped text for element content and attribute values alike."""
    return escape("" if value is None else str(value), quote=True)


# ---------------------------------------------------------------- reading meta defensively


def meta_records(result: RunResult, key: str) -> list[Mapping[str, Any]]:
    """A list-of-mappings meta value; anything else reads as absent."""
    value = result.meta.get(key)
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def meta_text(result: RunResult, key: str) -> str:
    value = result.meta.get(key)
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------- small markup helpers


def table(headers: Sequence[str], rows: Iterable[str], *, css_class: str = "", table_id: str = "",
          bodies: Iterable[str] = ()) -> str:
    """A table of `rows` in one <tbody>, or of ready-made `bodies` (several row groups)."""
    ident = f' id="{e(table_id)}"' if table_id else ""
    cls = f' class="{e(css_class)}"' if css_class else ""
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = "\n".join(bodies) or "<tbody>\n" + "\n".join(rows) + "</tbody>"
    return f"<table{ident}{cls}><thead><tr>{head}</tr></thead>\n{body}</table>"


def cell(content: str, sort_key: object = None, css_class: str = "", label: str = "") -> str:
    """A <td> whose content is already markup; sort_key orders it when the script sorts the table; label
    names it where a narrow screen shows rows as cards, without the header row."""
    key = f' data-sort="{e(sort_key)}"' if sort_key is not None else ""
    cls = f' class="{e(css_class)}"' if css_class else ""
    named = f' data-label="{e(label)}"' if label else ""
    return f"<td{key}{cls}{named}>{content}</td>"


def badge(kind: str, text: str | None = None) -> str:
    return f'<span class="badge {e(kind)}">{e(text if text is not None else kind)}</span>'


def code(value: object) -> str:
    return f"<code>{e(value)}</code>" if value not in (None, "") else ""


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{e(section_id)}">\n<h2>{e(title)}</h2>\n{body}\n</section>'


def figure(caption: str, svg: str, note: str = "", css_class: str = "") -> str:
    detail = f'<p class="note">{e(note)}</p>' if note else ""
    cls = f' class="{e(css_class)}"' if css_class else ""
    return f"<figure{cls}><figcaption>{e(caption)}</figcaption>{svg}{detail}</figure>"


def breakable_path(path: str) -> str:
    """An escaped path that may wrap after each `/` (and only there, unless a part is too long)."""
    return "/<wbr>".join(e(part) for part in path.split("/"))


def source_href(file: str, line: int, base: str) -> str:
    """A link to a finding's file: base + path (plus #L<line> for web hosts), or a file: URI if absolute."""
    path = quote(file, safe="/")
    if base:
        fragment = f"#L{line}" if base.startswith(("http://", "https://")) else ""
        return base + path + fragment
    if file.startswith("/"):
        return "file://" + path
    return path  # relative; quote() turned any ':' into %3A, so it can never read as a scheme


def location_link(finding: Finding, base: str) -> str:
    if finding.location is None:
        return ""
    file, line = finding.location.file, finding.location.line
    shown = f"{breakable_path(file)}:{line}" if line else breakable_path(file)  # no line: a platform's group
    return (f'<a class="loc" href="{e(source_href(file, line, base))}" data-file="{e(file)}" '
            f'data-line="{line}">{shown}</a>')
