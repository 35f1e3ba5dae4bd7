"""The HTML drift report: one self-contained file (inline CSS and SVG, no scripts, no
network) that opens anywhere. The verdict first, then a summary table (drifted columns
first), then one card per column with both distributions side by side."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from mlctl.monitoring import charts
from mlctl.monitoring.methods import METHODS
from mlctl.monitoring.report_style import CSS, METHOD_NOTES


def write_report(result, path: str | Path, title: str | None = None) -> Path:
    """Render ``result`` to ``path`` atomically (the report-path rules of every
    ``--report``: store/report_file.py); returns the path."""
    from mlctl.store.report_file import write_report_file

    return write_report_file(path, render(result, title))


def render(result, title: str | None = None) -> str:
    title = title or "Drift report"
    body = [_header(result, title), _callouts(result), _summary_table(result), _cards(result),
            _skipped(result), _footer(result)]
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def _header(result, title: str) -> str:
    tested, drifted = result.tested, result.drifted_columns
    verdict = "Dataset drift detected" if result.dataset_drift else "No dataset drift"
    cls = "drift" if result.dataset_drift else "ok"
    detail = (f"{len(drifted)} of {len(tested)} columns drifted ({_share(result.share_drifted)}); "
              f"dataset drift is declared at {_share(result.drift_share)}")
    meta = (f"<div class=\"meta\"><span><b>Reference</b> {escape(result.reference['source'])} "
            f"&middot; {result.reference['rows']:,} rows</span>"
            f"<span><b>Current</b> {escape(result.current['source'])} &middot; {result.current['rows']:,} rows</span>"
            f"<span><b>Method</b> {escape(result.method)}</span><span><b>Generated</b> "
            f"{escape(result.generated_at)}</span></div>")
    return (f"<h1>{escape(title)}</h1><section class=\"verdict {cls}\"><div class=\"big\">{verdict}</div>"
            f"<div>{detail}</div></section>{meta}")


def _callouts(result) -> str:
    items = []
    for col, label in ((result.prediction, "Prediction drift"), (result.target, "Target drift")):
        if col is not None and col.status == "tested":
            against = f" (against reference column <code>{escape(col.compared_with)}</code>)" \
                if col.compared_with and col.compared_with != col.column else ""
            state = "drifted" if col.drifted else "stable"
            items.append(f"<div class=\"callout {'bad' if col.drifted else 'good'}\"><b>{label}:</b> "
                         f"<code>{escape(col.column)}</code> {state}{against} &mdash; {_stat_text(col)}</div>")
    missing = [c for c in result.tested if c.missing.get("changed")]
    if missing:
        names = ", ".join(f"<code>{escape(c.column)}</code> {_share(c.missing['reference_share'])} &#8594; "
                          f"{_share(c.missing['current_share'])}" for c in missing)
        items.append(f"<div class=\"callout bad\"><b>Missing values changed:</b> {names}</div>")
    mism = result.mismatched
    for key, text in (("only_in_reference", "missing from the current data"), ("only_in_current", "new in the current data")):
        if mism.get(key):
            names = ", ".join(f"<code>{escape(n)}</code>" for n in mism[key])
            items.append(f"<div class=\"callout warn\"><b>Columns {text}:</b> {names}</div>")
    items.append(_performance(result.performance))
    return "".join(items)


def _performance(perf: dict | None) -> str:
    if not perf:
        return ""
    rows = []
    for name in perf["metrics"]:
        ref = perf["reference"][name] if perf["reference"] else None
        cur = perf["current"][name] if perf["current"] else None
        delta = perf["delta"].get(name)
        rows.append(f"<tr><td>{name}</td><td>{_fmt(ref)}</td><td>{_fmt(cur)}</td>"
                    f"<td>{'' if delta is None else f'{delta:+.4f}'}</td></tr>")
    note = "" if perf["reference"] else "<p class=\"note\">The reference has no predictions: no reference figures.</p>"
    return (f"<section><h2>Model performance ({escape(perf['task'])})</h2><table class=\"perf\">"
            f"<tr><th>metric</th><th>reference</th><th>current</th><th>change</th></tr>{''.join(rows)}</table>"
            f"{note}</section>")


def _ordered(result) -> list:
    """Drifted columns first, the most drifted first; then the rest by name."""
    def severity(col):
        if not col.drifted:
            return (1, 0.0, col.column)
        return (0, -_ratio(col), col.column)
    return sorted(result.tested, key=severity)


def _ratio(col) -> float:
    if col.method is None:
        return math.inf
    if METHODS[col.method].test:
        return -math.log10(max(col.p_value or 1e-300, 1e-300))
    return (col.distance or 0.0) / (col.threshold or 1.0)


def _summary_table(result) -> str:
    rows = []
    for col in _ordered(result):
        badge = "<span class=\"badge bad\">drift</span>" if col.drifted else "<span class=\"badge good\">ok</span>"
        rows.append(
            f"<tr class=\"{'drifted' if col.drifted else ''}\"><td><a href=\"#{_anchor(col.column)}\">"
            f"{escape(col.column)}</a></td><td>{col.kind}</td><td>{col.method or '&mdash;'}</td>"
            f"<td class=\"num\">{_stat_value(col)}</td><td class=\"num\">{_threshold(col)}</td>"
            f"<td class=\"num\">{_share(col.missing['reference_share'])} &#8594; {_share(col.missing['current_share'])}</td>"
            f"<td>{badge} {escape(', '.join(r.replace('_', ' ') for r in col.reasons if r != 'distribution'))}</td></tr>")
    head = ("<tr><th>column</th><th>kind</th><th>method</th><th>statistic</th><th>drift when</th>"
            "<th>missing</th><th>verdict</th></tr>")
    return f"<section><h2>Columns</h2><table class=\"summary\">{head}{''.join(rows)}</table></section>"


def _cards(result) -> str:
    cards = [_card(col) for col in _ordered(result)]
    for col in (result.prediction, result.target):
        if col is not None and col.status == "tested":
            cards.insert(0, _card(col))
    return f"<section><h2>Distributions</h2><div class=\"cards\">{''.join(cards)}</div></section>"


def _card(col) -> str:
    badge = "<span class=\"badge bad\">drift</span>" if col.drifted else "<span class=\"badge good\">ok</span>"
    role = f" <span class=\"role\">{col.role}</span>" if col.role != "feature" else ""
    notes = "".join(f"<li>{escape(n)}</li>" for n in col.notes + _card_facts(col))
    return (f"<article class=\"card {'drifted' if col.drifted else ''}\" id=\"{_anchor(col.column)}\">"
            f"<header><h3>{escape(col.column)}{role}</h3>{badge}</header>"
            f"<div class=\"stat\">{col.kind} &middot; {_stat_text(col)}</div>"
            f"<div class=\"chart\">{charts.svg(col.chart)}</div>{_side_table(col)}"
            f"{f'<ul class=notes>{notes}</ul>' if notes else ''}</article>")


def _card_facts(col) -> list[str]:
    facts = []
    if col.missing.get("changed"):
        facts.append(f"missing share changed: {_share(col.missing['reference_share'])} -> "
                     f"{_share(col.missing['current_share'])}")
    if col.categories and col.categories["new_count"]:
        shown = ", ".join(c["value"] for c in col.categories["new"][:5])
        facts.append(f"{col.categories['new_count']} new categories ({_share(col.categories['new_share'])} of "
                     f"current): {shown}")
    if col.categories and col.categories["absent_count"]:
        shown = ", ".join(c["value"] for c in col.categories["absent"][:5])
        facts.append(f"{col.categories['absent_count']} reference categories absent now: {shown}")
    if col.chart and col.chart["type"] == "histogram":
        r_lo, r_hi = col.chart["reference_tails"]
        c_lo, c_hi = col.chart["current_tails"]
        if max(r_lo, r_hi, c_lo, c_hi) > 0:
            facts.append(f"outside the axis: reference {_share(r_lo + r_hi)}, current {_share(c_lo + c_hi)}")
    return facts


def _side_table(col) -> str:
    if not col.summary or col.kind != "numeric":
        return ""
    ref, cur = col.summary["reference"], col.summary["current"]
    keys = ("mean", "std", "median", "p25", "p75", "min", "max")
    head = "".join(f"<th>{k}</th>" for k in keys)
    cells = lambda side: "".join(f"<td>{charts.compact(side[k])}</td>" for k in keys)  # noqa: E731
    return (f"<table class=\"sides\"><tr><th></th>{head}</tr><tr><th class=\"ref\">reference</th>{cells(ref)}</tr>"
            f"<tr><th class=\"cur\">current</th>{cells(cur)}</tr></table>")


def _skipped(result) -> str:
    skipped = [c for c in result.columns if c.status != "tested"]
    if not skipped:
        return ""
    rows = "".join(f"<li><code>{escape(c.column)}</code>: {escape(c.skip_reason or '')}</li>" for c in skipped)
    return f"<section><h2>Not compared ({len(skipped)})</h2><ul>{rows}</ul></section>"


def _footer(result) -> str:
    used = sorted({c.method for c in result.tested if c.method} |
                  {c.method for c in (result.target, result.prediction) if c is not None and c.method})
    items = "".join(f"<li><b>{m}</b>: {METHOD_NOTES[m]}</li>" for m in used)
    return (f"<footer><h2>How to read this</h2><ul>{items}<li>Missing values (null, NaN, &plusmn;inf) are "
            f"counted apart; a change of their share by at least "
            f"{_share(_missing_threshold(result))} (and beyond sampling noise) is drift by itself.</li></ul>"
            f"<p>Generated by mlctl monitor drift.</p></footer>")


def _missing_threshold(result) -> float:
    for col in result.tested:
        return col.missing.get("threshold", 0.05)
    return 0.05


def _stat_value(col) -> str:
    if col.method is None:
        return "&mdash;"
    if METHODS[col.method].test:
        return f"p = {_p(col.p_value)}"
    return _fmt(col.distance)


def _threshold(col) -> str:
    if col.method is None:
        return "&mdash;"
    return f"p &lt; {_fmt(col.threshold)}" if METHODS[col.method].test else f"&#8805; {_fmt(col.threshold)}"


def _stat_text(col) -> str:
    if col.method is None:
        return escape("; ".join(col.reasons).replace("_", " ") or "not compared")
    label = METHODS[col.method].label
    return f"{escape(label)}: {_stat_value(col)} (drift when {_threshold(col)})"


def _anchor(name: str) -> str:
    import zlib

    readable = "".join(ch if ch.isalnum() else "-" for ch in name)[:40]
    return f"col-{readable}-{zlib.crc32(name.encode()):08x}"  # unique even when names differ in punctuation


def _p(value) -> str:
    if value is None:
        return "&mdash;"
    return f"{value:.2e}" if value < 1e-4 else f"{value:.4f}"


def _fmt(value) -> str:
    if value is None:
        return "&mdash;"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, float) and value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _share(value: float) -> str:
    return f"{value * 100:.1f}%" if value * 100 < 10 and value != 0 else f"{value * 100:.0f}%"
