"""Descriptive numbers and chart data for one column's two sides (for JSON and the report)."""

from __future__ import annotations

from mlctl.monitoring.sample import as_sample

HIST_BINS = 30
TAIL = 0.005          # histograms cover the central 99% of both sides; the rest is counted
TOP_CATEGORIES = 12
LIST_LIMIT = 10
LOG_RATIO = 100       # positive columns spanning this factor get a log-scale histogram


def numeric_summary(ref, cur) -> dict:
    return {"reference": _describe(ref), "current": _describe(cur)}


def _describe(values) -> dict:
    import numpy as np

    from mlctl.monitoring.stats import mean, quantiles, std

    sample = as_sample(values)
    q = _range(sample)
    low, mid, high = quantiles(sample, np.array([0.25, 0.5, 0.75]))
    return {"mean": mean(sample), "std": std(sample), "min": float(q[0]),
            "p25": float(low), "median": float(mid), "p75": float(high), "max": float(q[1])}


def histogram(ref, cur) -> dict:
    """Shares per bin over a shared range; what falls outside it is counted as tails."""
    import numpy as np

    from mlctl.monitoring.stats import quantiles

    ref, cur = as_sample(ref), as_sample(cur)
    ends = np.array([TAIL, 1 - TAIL])
    ref_ends, cur_ends = quantiles(ref, ends), quantiles(cur, ends)
    lo, hi = float(min(ref_ends[0], cur_ends[0])), float(max(ref_ends[1], cur_ends[1]))
    if hi <= lo:
        ref_range, cur_range = _range(ref), _range(cur)
        lo, hi = float(min(ref_range[0], cur_range[0])), float(max(ref_range[1], cur_range[1]))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    log = lo > 0 and hi / lo >= LOG_RATIO  # a long right tail: bins on a log scale show the bulk
    edges = np.geomspace(lo, hi, HIST_BINS + 1) if log else np.linspace(lo, hi, HIST_BINS + 1)
    chart = {"type": "histogram", "edges": edges.tolist(), "scale": "log" if log else "linear"}
    for side, values in (("reference", ref), ("current", cur)):
        pos = values.searchsorted(edges, side="left")
        pos[-1] = values.searchsorted(np.array([hi]), side="right")[0]
        n = max(len(values), 1)
        chart[side] = (np.diff(pos) / n).tolist()
        chart[side + "_tails"] = [float(pos[0] / n), float((len(values) - pos[-1]) / n)]
    return chart


def _range(sample):
    import numpy as np

    return sample.take(np.array([0, len(sample) - 1]))


def category_changes(ref_counts: dict, cur_counts: dict) -> dict:
    """Categories new in current, and those the current data no longer has."""
    cur_total = max(sum(cur_counts.values()), 1)
    ref_total = max(sum(ref_counts.values()), 1)
    new = sorted(((k, c) for k, c in cur_counts.items() if k not in ref_counts), key=lambda kc: (-kc[1], kc[0]))
    gone = sorted(((k, c) for k, c in ref_counts.items() if k not in cur_counts), key=lambda kc: (-kc[1], kc[0]))
    return {
        "new": [{"value": k, "count": c, "share": c / cur_total} for k, c in new[:LIST_LIMIT]],
        "new_count": len(new),
        "new_share": sum(c for _, c in new) / cur_total,
        "absent": [{"value": k, "count": c, "share": c / ref_total} for k, c in gone[:LIST_LIMIT]],
        "absent_count": len(gone),
        "absent_share": sum(c for _, c in gone) / ref_total,
    }


def categorical_summary(ref_counts: dict, cur_counts: dict) -> dict:
    return {"reference": _top(ref_counts), "current": _top(cur_counts)}


def _top(counts: dict) -> dict:
    if not counts:
        return {"distinct": 0, "top": None, "top_share": None}
    key, count = max(counts.items(), key=lambda kc: (kc[1], kc[0]))
    return {"distinct": len(counts), "top": key, "top_share": count / sum(counts.values())}


def bars(ref_counts: dict, cur_counts: dict) -> dict:
    """Shares of the most frequent categories (pooled), the rest as "(other)"."""
    ref_total = max(sum(ref_counts.values()), 1)
    cur_total = max(sum(cur_counts.values()), 1)
    pooled = {k: ref_counts.get(k, 0) / ref_total + cur_counts.get(k, 0) / cur_total
              for k in set(ref_counts) | set(cur_counts)}
    ordered = sorted(pooled, key=lambda k: (-pooled[k], k))
    shown, rest = ordered[:TOP_CATEGORIES], ordered[TOP_CATEGORIES:]
    numbers = _as_numbers(shown)
    if numbers is not None:  # numbers (a count column compared as categories) read best in order
        shown = [k for _, k in sorted(zip(numbers, shown))]
    chart = {"type": "bars", "categories": list(shown),
             "reference": [ref_counts.get(k, 0) / ref_total for k in shown],
             "current": [cur_counts.get(k, 0) / cur_total for k in shown],
             "new": [k not in ref_counts for k in shown]}
    if rest:
        chart["categories"].append(f"(other {len(rest)})")
        chart["reference"].append(sum(ref_counts.get(k, 0) for k in rest) / ref_total)
        chart["current"].append(sum(cur_counts.get(k, 0) for k in rest) / cur_total)
        chart["new"].append(False)
    return chart


def _as_numbers(keys: list[str]) -> list[float] | None:
    try:
        return [float(k) for k in keys]
    except ValueError:
        return None
