"""Line charts as SVG markup, drawn on the server: the pages run no chart script and load nothing from elsewhere.

Pure functions: finite points, down-sampling of long series (the lowest and highest point of each bucket, so a
loss spike survives), "nice" ticks and their labels, and the SVG of one chart. Every text that reaches the
markup (titles, series names, axis labels) is escaped here: metric names come from repository files. Colours
are presentation attributes, not ``style`` attributes, which the pages' Content-Security-Policy forbids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from numbers import Real

Point = tuple[float, float]

# Colours that stay apart for the common kinds of colour blindness (blue, orange, green, purple, ...).
PALETTE = ("#0b57d0", "#d55e00", "#1a7f37", "#8250df", "#bf3989", "#0e7490", "#9a6700", "#59636e")
WIDTH, HEIGHT = 640, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = 66, 24, 44
LEGEND_ROW = 16
MAX_LABEL = 80  # characters of a series name shown in the legend (the full name is in the chart's description)
MARKERS_UP_TO = 60  # a series this short also gets a dot per point (evaluations are often a handful)
_CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Series:
    """One line: ``points`` are (x, y) pairs, finite, in increasing x."""

    name: str
    points: Sequence[Point]


def finite_points(pairs: Iterable[tuple[object, object]]) -> list[Point]:
    """The (x, y) pairs whose two values are real, finite numbers (not booleans), as floats, sorted by x."""
    out = []
    for x, y in pairs:
        if _finite(x) and _finite(y):
            out.append((float(x), float(y)))  # type: ignore[arg-type]
    out.sort(key=lambda p: p[0])
    return out


def _finite(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def downsample(points: Sequence[Point], limit: int) -> list[Point]:
    """At most ``limit`` points of ``points`` (sorted by x): the first, the last, and between them the lowest
    and the highest of each of ``(limit - 2) // 2`` buckets of consecutive points, in x order. A series no
    longer than ``limit`` comes back whole."""
    if limit < 4:
        raise ValueError(f"downsample limit={limit}: keep at least 4 points (first, last, one bucket's low and high)")
    if len(points) <= limit:
        return list(points)
    inner = points[1:-1]
    buckets = (limit - 2) // 2
    out = [points[0]]
    for b in range(buckets):
        chunk = inner[b * len(inner) // buckets:(b + 1) * len(inner) // buckets]
        if not chunk:
            continue
        low = min(range(len(chunk)), key=lambda i: chunk[i][1])
        high = max(range(len(chunk)), key=lambda i: chunk[i][1])
        for i in sorted({low, high}):
            out.append(chunk[i])
    out.append(points[-1])
    return out


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts ``span`` into about ``count`` intervals."""
    if not span > 0 or not math.isfinite(span):
        raise ValueError(f"nice_step span={span!r}: the span must be a positive finite number")
    raw = span / max(1, count)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * magnitude * (1 + 1e-9):
            return factor * magnitude
    return 10.0 * magnitude  # pragma: no cover - the loop always returns


def nice_domain(low: float, high: float, *, count: int = 5, integer: bool = False) -> tuple[float, float, float]:
    """(start, end, step): ``[low, high]`` widened to whole steps, for the ticks ``start, start + step, ... end``.
    A flat range (one value) is widened around the value; ``integer`` keeps the step a whole number (steps)."""
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_step(high - low, count)
    if integer:
        step = max(1.0, round(step))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    if end <= start:  # cannot happen for finite inputs; kept so a caller never divides by zero
        end = start + step
    return start, end, step


def ticks(start: float, end: float, step: float) -> list[float]:
    """The tick values from ``start`` to ``end`` (both included) every ``step``, free of float drift."""
    n = int(round((end - start) / step))
    decimals = max(0, -math.floor(math.log10(step)) + 2)
    return [round(start + i * step, decimals) if step < 1 else start + i * step for i in range(n + 1)]


def format_tick(value: float, step: float) -> str:
    """A tick label with as many digits as ``step`` needs: ``0.25``, ``1500``, ``2e-5``, ``1.5e+6``."""
    if value == 0:
        return "0"
    size = abs(value)
    if 1e-3 <= step and size < 1e6:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        if step * 10 ** decimals % 1 > 1e-6:  # 0.25, 2.5: one digit more than the power of ten
            decimals += 1
        return f"{value:.{decimals}f}"
    digits = max(0, math.floor(math.log10(size) + 1e-9) - math.floor(math.log10(step) + 1e-9))
    mantissa, _, exponent = f"{value:.{min(digits, 6)}e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def format_value(value: float) -> str:
    """A value in a legend or a table: four significant digits."""
    return f"{value:.4g}"


@dataclass(frozen=True)
class Scale:
    """A linear map of the domain ``[start, end]`` onto the pixel range ``[low, high]`` (high may be smaller)."""

    start: float
    end: float
    low: float
    high: float

    def __call__(self, value: float) -> float:
        return self.low + (value - self.start) / (self.end - self.start) * (self.high - self.low)


def legend_label(series: Series) -> str:
    """A legend entry: the series' name (cut to :data:`MAX_LABEL` characters) and its last value."""
    name = series.name if len(series.name) <= MAX_LABEL else series.name[:MAX_LABEL - 1] + "…"
    return f"{name} ({format_value(series.points[-1][1])})" if series.points else name


def _legend_rows(labels: Sequence[str], width: float) -> list[list[tuple[int, str, float]]]:
    """Legend items (series index, label, x) flowed into rows that fit ``width``."""
    rows: list[list[tuple[int, str, float]]] = [[]]
    x = 0.0
    for i, label in enumerate(labels):
        item = 18 + 7.2 * len(label) + 16  # swatch, text (an estimate at 12px), gap
        if rows[-1] and x + item > width:
            rows.append([])
            x = 0.0
        rows[-1].append((i, label, x))
        x += item
    return rows


def line_chart(title: str, series: Sequence[Series], *, chart_id: str, x_label: str = "step",
               y_label: str = "", width: int = WIDTH, height: int = HEIGHT) -> str:
    """An ``<svg>`` element drawing ``series`` on shared axes, with ticks, grid lines, axis labels, a legend and
    an accessible title and description. Empty series are left out; with none left, the plot says "no data"."""
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"chart_id={chart_id!r}: use a letter then letters, digits, '-' or '_' (an XML id)")
    drawn = [s for s in series if s.points]
    rows = _legend_rows([legend_label(s) for s in drawn], width - MARGIN_LEFT - MARGIN_RIGHT)
    top = 10 + LEGEND_ROW * len(rows) + 8
    left, right, bottom = MARGIN_LEFT, width - MARGIN_RIGHT, height - MARGIN_BOTTOM
    names = ", ".join(s.name for s in drawn) or "no data"
    total = sum(len(s.points) for s in drawn)
    description = f"{names} against {x_label}" + (f" ({total} points)" if drawn else "")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="system-ui, sans-serif" '
           'font-size="12">',
           f'<title id="{chart_id}-title">{escape(title)}</title>',
           f'<desc id="{chart_id}-desc">{escape(description)}</desc>']
    if not drawn:
        out.append(f'<text x="{width / 2:g}" y="{height / 2:g}" text-anchor="middle" fill="#59636e">no data</text>')
        out.append("</svg>")
        return "\n".join(out)
    xs = [p[0] for s in drawn for p in s.points]
    ys = [p[1] for s in drawn for p in s.points]
    x0, x1, xstep = nice_domain(min(xs), max(xs), count=6, integer=all(x.is_integer() for x in xs))
    y0, y1, ystep = nice_domain(min(ys), max(ys), count=5)
    sx, sy = Scale(x0, x1, left, right), Scale(y0, y1, bottom, top)

    grid, labels = [], []
    for value in ticks(y0, y1, ystep):
        y = sy(value)
        grid.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
        labels.append(f'<text x="{left - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle">'
                      f"{escape(format_tick(value, ystep))}</text>")
    for value in ticks(x0, x1, xstep):
        x = sx(value)
        grid.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>')
        labels.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#59636e"/>')
        labels.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
                      f"{escape(format_tick(value, xstep))}</text>")
    out.append('<g class="grid" stroke="#eaeef2" stroke-width="1">' + "".join(grid) + "</g>")
    out.append('<g class="axes" fill="#59636e">'
               f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#59636e"/>'
               f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#59636e"/>' + "".join(labels)
               + f'<text class="axis-title" x="{(left + right) / 2:g}" y="{height - 8}" text-anchor="middle">'
               f"{escape(x_label)}</text>"
               + (f'<text class="axis-title" x="14" y="{(top + bottom) / 2:g}" text-anchor="middle" '
                  f'transform="rotate(-90 14 {(top + bottom) / 2:g})">{escape(y_label)}</text>' if y_label else "")
               + "</g>")
    for i, one in enumerate(drawn):
        colour = PALETTE[i % len(PALETTE)]
        coords = [(sx(x), sy(y)) for x, y in one.points]
        path = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        group = [f'<g class="series" data-series="{i}" fill="none" stroke="{colour}" stroke-width="1.6" '
                 'stroke-linejoin="round">', f"<title>{escape(one.name)}</title>", f'<path d="{path}"/>']
        if len(coords) <= MARKERS_UP_TO:
            group += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>' for x, y in coords]
        group.append("</g>")
        out.append("".join(group))
    legend = ['<g class="legend" fill="#1f2328">']
    for row_number, row in enumerate(rows):
        y = 10 + LEGEND_ROW * row_number
        for i, label, x in row:
            colour = PALETTE[i % len(PALETTE)]
            legend.append(f'<rect x="{left + x:.1f}" y="{y + 3}" width="12" height="4" fill="{colour}"/>'
                          f'<text x="{left + x + 17:.1f}" y="{y + 5}" dominant-baseline="middle">{escape(label)}</text>')
    legend.append("</g>")
    out.append("".join(legend))
    out.append("</svg>")
    return "\n".join(out)
