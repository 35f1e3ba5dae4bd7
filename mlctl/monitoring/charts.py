"""Inline SVG pictures of one column's two distributions (no network, no plotting library).

Numeric: a histogram over a shared range, reference and current side by side in each
bin. Categorical: one row per category with a bar for each side.
"""

from __future__ import annotations

import math
from html import escape

REF_COLOR = "#4C78A8"
CUR_COLOR = "#F58518"
AXIS = "#666"
GRID = "#e3e3e3"
FONT = "font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\" font-size=\"11\""


def svg(chart: dict | None, width: int = 560) -> str:
    if not chart:
        return ""
    return histogram_svg(chart, width) if chart["type"] == "histogram" else bars_svg(chart, width)


def histogram_svg(chart: dict, width: int = 560, height: int = 230) -> str:
    left, right, top, bottom = 48, 12, 10, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    ref, cur, edges = chart["reference"], chart["current"], chart["edges"]
    step = _nice_step(max(ref + cur + [1e-12]) / 4)
    ymax = step * math.ceil(max(ref + cur + [1e-12]) / step)
    n = len(ref)
    slot = plot_w / n
    parts = [_svg_open(width, height, "histogram of reference and current")]
    parts += _y_axis(left, top, plot_w, plot_h, ymax, step)
    for i, (r, c) in enumerate(zip(ref, cur)):
        x = left + i * slot
        parts.append(_bar(x + slot * 0.06, top, plot_h, slot * 0.44, r / ymax, REF_COLOR,
                          f"reference {_pct(r)} in [{_num(edges[i])}, {_num(edges[i + 1])})"))
        parts.append(_bar(x + slot * 0.5, top, plot_h, slot * 0.44, c / ymax, CUR_COLOR,
                          f"current {_pct(c)} in [{_num(edges[i])}, {_num(edges[i + 1])})"))
    parts += _x_ticks(edges, left, top + plot_h, plot_w, chart.get("scale") == "log")
    parts.append(_legend(left, height - 6))
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(chart: dict, width: int = 560) -> str:
    row, top, label_w, value_w = 24, 8, 150, 96
    cats = chart["categories"]
    height = top + row * len(cats) + 26
    plot_w = width - label_w - value_w - 8
    vmax = max(chart["reference"] + chart["current"] + [1e-12])
    parts = [_svg_open(width, height, "category shares of reference and current")]
    for i, name in enumerate(cats):
        y = top + i * row
        label = _clip(str(name), 22) + (" (new)" if chart["new"][i] else "")
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" {FONT} fill="#222">'
                     f'<title>{escape(str(name))}</title>{escape(label)}</text>')
        for j, (side, color) in enumerate((("reference", REF_COLOR), ("current", CUR_COLOR))):
            share = chart[side][i]
            w = max(plot_w * share / vmax, 0.0)
            parts.append(f'<rect x="{label_w}" y="{y + 3 + j * 9:.1f}" width="{w:.1f}" height="8" fill="{color}">'
                         f'<title>{side} {_pct(share)}</title></rect>')
        parts.append(f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" {FONT} fill="#444">'
                     f'{_pct(chart["reference"][i])} &#8594; {_pct(chart["current"][i])}</text>')
    parts.append(_legend(label_w, height - 6))
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">')


def _bar(x, top, plot_h, w, frac, color, title) -> str:
    h = max(plot_h * min(frac, 1.0), 0.0)
    return (f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{escape(title)}</title></rect>')


def _y_axis(left, top, plot_w, plot_h, ymax, step) -> list[str]:
    parts = []
    ticks = int(round(ymax / step))
    for k in range(ticks + 1):
        value = step * k
        y = top + plot_h - plot_h * value / ymax
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="{AXIS}">{_pct(value)}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{AXIS}"/>')
    return parts


def _x_ticks(edges, left, y0, plot_w, log: bool) -> list[str]:
    lo, hi = edges[0], edges[-1]
    position = (lambda v: (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))) if log \
        else (lambda v: (v - lo) / (hi - lo))
    parts = [f'<line x1="{left}" x2="{left + plot_w}" y1="{y0}" y2="{y0}" stroke="{AXIS}"/>']
    for value in (_log_ticks(lo, hi) if log else _linear_ticks(lo, hi)):
        x = left + plot_w * position(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + 4}" stroke="{AXIS}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y0 + 15}" text-anchor="middle" {FONT} fill="{AXIS}">{_num(value)}</text>')
    if log:
        parts.append(f'<text x="{left + plot_w}" y="{y0 + 28}" text-anchor="end" {FONT} fill="{AXIS}">log scale</text>')
    return parts


def _linear_ticks(lo: float, hi: float, count: int = 8) -> list[float]:
    step = _nice_step((hi - lo) / (count - 1))
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    multipliers = (1, 2, 5) if len(decades) <= 3 else (1,)
    return [m * 10 ** d for d in decades for m in multipliers if lo <= m * 10 ** d <= hi]


def _legend(x, y) -> str:
    return (f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{REF_COLOR}"/>'
            f'<text x="{x + 14}" y="{y}" {FONT} fill="#222">reference</text>'
            f'<rect x="{x + 84}" y="{y - 9}" width="10" height="10" fill="{CUR_COLOR}"/>'
            f'<text x="{x + 98}" y="{y}" {FONT} fill="#222">current</text>')


def _nice_step(raw: float) -> float:
    """The 'round' step (1, 2, 2.5, 5 x 10^k) at or above ``raw``."""
    exponent = math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        nice = step * 10 ** exponent
        if nice >= raw * (1 - 1e-9):
            return nice
    return 10 ** (exponent + 1)


def _pct(share: float) -> str:
    percent = share * 100
    if percent == 0:
        return "0%"
    if percent < 0.1:
        return "<0.1%"
    return f"{percent:.1f}%" if percent < 10 else f"{percent:.0f}%"


_SUFFIXES = ((1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))


def compact(value: float, digits: int = 3) -> str:
    """Short number labels: 35.9k, 2.4M, 0.0021, 1.2e-05."""
    if value == 0:
        return "0"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    for limit, divisor, suffix in _SUFFIXES:
        if abs(value) >= limit:
            return f"{value / divisor:.{digits}g}{suffix}"
    if abs(value) < 1e-3:
        return f"{value:.{max(digits - 2, 1)}e}"
    return f"{value:.{digits + 1}g}"


_num = compact


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
