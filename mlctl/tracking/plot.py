"""``run compare --plot``: metric curves over steps, one panel per metric, one line per
run, as a PNG (matplotlib, imported only here) or a self-contained HTML/SVG file."""

from __future__ import annotations

import html
import math
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.atomic import atomic_write_bytes, atomic_write_text

FORMATS = (".png", ".html", ".htm", ".svg")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf")


def curves(runs, keys: list[str] | None = None) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """{metric: {run id: [(step, value), ...]}} for the chosen metrics; by default those
    with more than one point in some run (the curves), or all when none has."""
    counts = [run.metric_keys_with_counts() for run in runs]
    curved = sorted({k for c in counts for k, n in c.items() if n > 1})
    wanted = keys or curved or sorted({k for run in runs for k in run.metrics})
    missing = [k for k in wanted if not any(k in run.metrics for run in runs)]
    if missing:
        raise UsageError(f"no run has metric {', '.join(missing)}")
    if not wanted:
        raise UsageError("these runs have no metrics to plot")
    return {key: {run.id: [(s, v) for s, v, _t in run.metric_history(key)] for run in runs if key in run.metrics}
            for key in wanted}


def write_plot(path: str, data: dict, labels: dict[str, str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"cannot plot to {path}: use a .png, .html or .svg file name")
    if suffix == ".png":
        _write_png(path, data, labels)
    elif suffix == ".svg":
        atomic_write_text(path, svg_document(data, labels))
    else:
        atomic_write_text(path, html_document(data, labels))
    return path


def _write_png(path: str, data: dict, labels: dict) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = len(data)
    fig = Figure(figsize=(8, 3.2 * rows), constrained_layout=True)
    for index, (key, series) in enumerate(data.items()):
        ax = fig.add_subplot(rows, 1, index + 1)
        for run_id, points in series.items():
            steps = [s for s, _v in points]
            ys = [v for _s, v in points]
            ax.plot(steps, ys, marker="o" if len(points) < 30 else None, label=labels.get(run_id, run_id))
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())


# -- SVG / HTML (no dependencies, no scripts) ------------------------------------------------
WIDTH, HEIGHT, PAD = 720, 260, 48


def _panel(key: str, series: dict, labels: dict) -> str:
    finite = [(s, v) for pts in series.values() for s, v in pts if math.isfinite(v)]
    if not finite:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="40">'
                f'<text x="8" y="24">{html.escape(key)}: no finite values</text></svg>')
    xs, ys = [s for s, _ in finite], [v for _, v in finite]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

    def px(s, v):
        return (PAD + (s - x0) / (x1 - x0) * (WIDTH - 2 * PAD),
                HEIGHT - PAD - (v - y0) / (y1 - y0) * (HEIGHT - 2 * PAD))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<text x="{PAD}" y="18" font-size="14" font-weight="bold">{html.escape(key)}</text>',
             f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" stroke="#ccc"/>',
             f'<text x="{PAD}" y="{HEIGHT - PAD + 16}">{x0}</text>',
             f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 16}" text-anchor="end">{x1} (step)</text>',
             f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">{y0:.4g}</text>',
             f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{y1:.4g}</text>']
    for index, (run_id, points) in enumerate(series.items()):
        color = COLORS[index % len(COLORS)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (px(s, v) for s, v in _thin(points) if math.isfinite(v)))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}"/>')
        if len(points) == 1 and math.isfinite(points[0][1]):
            x, y = px(*points[0])
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        parts.append(f'<text x="{WIDTH - PAD + 4 - 150}" y="{PAD + 14 + 14 * index}" fill="{color}">'
                     f'{html.escape(labels.get(run_id, run_id))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _thin(points: list, limit: int = 2000) -> list:
    """At most ``limit`` points per line (a 50,000-step curve stays a small file)."""
    if len(points) <= limit:
        return points
    stride = math.ceil(len(points) / limit)
    return points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])


def svg_document(data: dict, labels: dict) -> str:
    panels = [_panel(key, series, labels) for key, series in data.items()]
    height = HEIGHT * len(panels)
    inner = "".join(f'<g transform="translate(0,{HEIGHT * i})">{p}</g>' for i, p in enumerate(panels))
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}">{inner}</svg>\n'


def html_document(data: dict, labels: dict) -> str:
    panels = "\n".join(f"<div>{_panel(key, series, labels)}</div>" for key, series in data.items())
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mlctl run compare</title>"
            "<style>body{font-family:sans-serif;margin:24px}</style></head><body>\n"
            f"<h1>Metric curves</h1>\n{panels}\n</body></html>\n")
