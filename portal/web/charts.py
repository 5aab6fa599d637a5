"""Charts drawn on the server as plain SVG: no JavaScript, nothing fetched, readable offline.

Two shapes cover the statistics page: horizontal bars (one row per department or matter, with
an optional reference mark such as a time limit) and stacked columns (applications per week by
channel). Each chart is `role="img"` with a title and a description; the page prints the same
numbers as a table next to it for screen readers (the chart itself is decoration for them).
Colours are the portal's palette with a pattern-free legend, and every bar carries its number
as text, so colour is never the only signal.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#1d5fa8", "#b35c00", "#2e7d32", "#6a3d9a", "#a3333d", "#00695c")
INK, MUTED, GRID, MARK = "#1b1b1b", "#555555", "#d0d0d0", "#a3333d"
ROW = 28  # px per bar row
FONT = 13


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" '
            f'font-family="sans-serif" font-size="{FONT}">'
            f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    mark: float | None = None  # e.g. the time limit, drawn as a short vertical line
    text: str = ""  # what is written after the bar (default: the value)


def bars(chart_id: str, title: str, desc: str, items: Sequence[Bar], *, unit: str = "", mark_label: str = "") -> Markup:
    """Horizontal bars, one per item, scaled to the largest value or mark."""
    label_w, width, right = 150, 600, 150
    plot = width - label_w - right
    top = 8 + (18 if mark_label else 0)
    height = top + ROW * max(1, len(items)) + 8
    peak = max([b.value for b in items] + [b.mark or 0 for b in items] + [1e-9])
    body: list[str] = []
    if mark_label:
        body.append(f'<line x1="{label_w}" y1="9" x2="{label_w}" y2="19" stroke="{MARK}" stroke-width="3"/>'
                    f'<text x="{label_w + 8}" y="18" fill="{INK}">{escape(mark_label)}</text>')
    for i, b in enumerate(items):
        y = top + i * ROW
        w = plot * b.value / peak
        body.append(f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end" fill="{INK}">{escape(b.label[:11])}</text>'
                    f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{ROW - 10}" fill="{PALETTE[0]}"/>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 18}" fill="{INK}">{escape(b.text or _n(b.value) + unit)}</text>')
        if b.mark is not None:
            x = label_w + plot * b.mark / peak
            body.append(f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + ROW - 2}" stroke="{MARK}" stroke-width="3"/>')
    return _svg(chart_id, width, height, title, desc, body)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]


def stacked_columns(chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series]) -> Markup:
    """Columns per category (e.g. a week), stacked by series (e.g. a channel), with a legend."""
    width, left, bottom = 560, 34, 40
    legend_h = 20 * ((len(series) + 2) // 3)
    plot_h = 180
    height = legend_h + plot_h + bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    peak = float(max(totals + [1]))
    step = (width - left - 8) / max(1, len(categories))
    body: list[str] = []
    for k, s in enumerate(series):
        lx, ly = 4 + (k % 3) * 185, 4 + 20 * (k // 3)
        body.append(f'<rect x="{lx}" y="{ly}" width="14" height="14" fill="{PALETTE[k % len(PALETTE)]}"/>'
                    f'<text x="{lx + 20}" y="{ly + 12}" fill="{INK}">{escape(s.label)}</text>')
    base = legend_h + plot_h
    body.append(f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" stroke="{GRID}"/>'
                f'<text x="{left - 4}" y="{legend_h + 12}" text-anchor="end" fill="{MUTED}">{int(peak)}</text>'
                f'<text x="{left - 4}" y="{base}" text-anchor="end" fill="{MUTED}">0</text>')
    for i, cat in enumerate(categories):
        x = left + i * step + step * 0.15
        y = float(base)
        for k, s in enumerate(series):
            h = (plot_h - 16) * s.values[i] / peak
            if h:
                y -= h
                body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                            f'fill="{PALETTE[k % len(PALETTE)]}"/>')
        if totals[i]:
            body.append(f'<text x="{x + step * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" fill="{INK}">{totals[i]}</text>')
        if len(categories) <= 8 or i % 2 == 0:
            body.append(f'<text x="{x + step * 0.35:.1f}" y="{base + 16}" text-anchor="middle" fill="{MUTED}" '
                        f'font-size="11">{escape(cat)}</text>')
    return _svg(chart_id, width, height, title, desc, body)
