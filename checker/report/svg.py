"""Small inline-SVG charts for the HTML report, drawn here so the page needs no library and no network.

Charts return SVG markup as text. Every piece of text is escaped; colours come from CSS classes that the
page's stylesheet defines (so one stylesheet themes screen and print), never from inline styles (the
page's Content-Security-Policy allows no style attributes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

CHAR_WIDTH = 6.6  # average width of a 12px sans-serif character, for fitting labels


@dataclass(frozen=True)
class Segment:
    value: float
    css_class: str
    label: str = ""  # shown in the segment's tooltip, e.g. "deny"


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    note: str = ""  # text after the bar; the total when empty
    marker: float | None = None  # a tick on the bar's scale, e.g. a limit


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]
    css_class: str


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def fit(text: str, width: float) -> str:
    """Cut text to about `width` pixels, with an ellipsis; the full text goes into a <title>."""
    room = max(1, int(width / CHAR_WIDTH))
    return text if len(text) <= room else text[: max(1, room - 1)] + "…"


def axis_ticks(value: float, max_ticks: int = 5) -> list[float]:
    """Readable y-axis ticks from 0 to at least value: steps of 1, 2 or 5 times a power of ten."""
    value = max(float(value), 1.0)
    power = 10 ** math.floor(math.log10(value / max_ticks)) if value > max_ticks else 1
    step = next(m * power for m in (1, 2, 5, 10) if value / (m * power) <= max_ticks)
    count = math.ceil(value / step)
    return [float(step * i) for i in range(count + 1)]


def _open(width: float, height: float, title: str, css_class: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css_class)}" role="img" '
            f'viewBox="0 0 {number(width)} {number(height)}" width="{number(width)}" height="{number(height)}" '
            f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]


def bar_chart(bars: Sequence[Bar], *, title: str, width: int = 640, label_width: int = 200,
              bar_height: int = 18, gap: int = 7, note_width: int = 190) -> str:
    """Horizontal bars, each a stack of segments, with the label left and a note (default: total) right."""
    plot = width - label_width - note_width - 16
    height = max(1, len(bars)) * (bar_height + gap) + gap
    scale_max = max([sum(s.value for s in b.segments) for b in bars]
                    + [b.marker for b in bars if b.marker is not None] + [1])
    out = _open(width, height, title, "bar-chart")
    for index, bar in enumerate(bars):
        y = gap + index * (bar_height + gap)
        total = sum(s.value for s in bar.segments)
        text_y = y + bar_height * 0.72
        out.append("<g>")
        out.append(f"<title>{escape(bar.label)}: {escape(bar.note or number(total))}</title>")
        out.append(f'<text class="label" x="{label_width - 6}" y="{text_y:.1f}" text-anchor="end">'
                   f"{escape(fit(bar.label, label_width - 8))}</text>")
        x = float(label_width)
        for segment in bar.segments:
            if segment.value <= 0:
                continue
            w = plot * segment.value / scale_max
            tip = f"{segment.label}: {number(segment.value)}" if segment.label else number(segment.value)
            out.append(f'<rect class="{escape(segment.css_class)}" x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" '
                       f'height="{bar_height}"><title>{escape(tip)}</title></rect>')
            x += w
        if bar.marker is not None:
            mx = label_width + plot * bar.marker / scale_max
            out.append(f'<line class="marker" x1="{mx:.1f}" x2="{mx:.1f}" y1="{y - 3}" y2="{y + bar_height + 3}">'
                       f"<title>{escape(f'limit: {number(bar.marker)}')}</title></line>")
        # The note sits in its own column so that a marker never runs through it.
        note = bar.note or number(total)
        out.append(f'<text class="value" x="{label_width + plot + 10}" y="{text_y:.1f}">'
                   f"{escape(fit(note, note_width))}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def line_chart(x_labels: Sequence[str], series: Sequence[Series], *, title: str, width: int = 640,
               height: int = 240, max_x_labels: int = 8) -> str:
    """One line per series over shared x labels (e.g. dates), a zero-based y axis with gridlines, a legend."""
    left, right, top, bottom = 44, 40, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(x_labels)
    ticks = axis_ticks(max([v for s in series for v in s.values] + [1]))
    y_max = ticks[-1]

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if count <= 1 else plot_w * i / (count - 1))

    def y_at(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    out = _open(width, height, title, "line-chart")
    for value in ticks:
        y = y_at(value)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{number(value)}</text>')
    step = max(1, math.ceil(count / max_x_labels))
    shown = list(range(0, count, step))
    if count > 1 and shown[-1] != count - 1:  # always label the latest point, dropping a crowded neighbour
        shown = [*shown[:-1], count - 1] if count - 1 - shown[-1] <= step / 2 else [*shown, count - 1]
    for i in shown:
        out.append(f'<text class="axis" x="{x_at(i):.1f}" y="{height - 10}" text-anchor="middle">'
                   f"{escape(fit(x_labels[i], plot_w / min(count, max_x_labels)))}</text>")
    legend_x = float(left)
    for s in series:
        out.append(f'<rect class="{escape(s.css_class)}" x="{legend_x:.1f}" y="8" width="12" height="12"/>')
        out.append(f'<text class="label" x="{legend_x + 16:.1f}" y="18">{escape(s.name)}</text>')
        legend_x += 28 + CHAR_WIDTH * len(s.name)
    for s in series:
        points = [(x_at(i), y_at(v)) for i, v in enumerate(s.values[:count])]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline class="line {escape(s.css_class)}" points="{path}"/>')
        for i, (x, y) in enumerate(points):
            tip = f"{x_labels[i]}: {number(s.values[i])} {s.name}"
            out.append(f'<circle class="point {escape(s.css_class)}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                       f"<title>{escape(tip)}</title></circle>")
    out.append("</svg>")
    return "".join(out)
