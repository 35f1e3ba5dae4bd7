"""The HTML validation report (`mlctl data validate --report R.html`): one self-contained
page (inline CSS, no scripts, no network) modelled on the drift report. The verdict and
counts first, then a table of datasets, then per dataset its columns and one row per
expectation, failed `error` ones first, then warnings, then the rest, in suite order.

Column names, values, targets and the suite's own text come from data and files anyone
may have written; every one is escaped here, on the way into the page."""

from __future__ import annotations

import json
import math
import zlib
from html import escape

from mlctl.store.times import now_iso
from mlctl.validation.report_style import CSS

_COMMON = {"expect", "name", "level", "severity", "mostly", "column", "columns"}  # shown in their own cells
_STATUS_ORDER = {"fail": 0, "warn": 1, "pass": 2}


def render(result, generated_at: str | None = None) -> str:
    """The page for a ``ValidationResult``; ``generated_at`` (ISO time) defaults to now."""
    body = [_header(result, generated_at or now_iso("seconds")), _datasets_table(result),
            *(_dataset(d) for d in result.datasets), _footer()]
    title = f"Validation report - {result.suite}"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def status(outcome) -> str:
    """``pass``, ``fail`` (an `error` expectation that does not hold) or ``warn``."""
    if outcome.success:
        return "pass"
    return "fail" if outcome.expectation.severity == "error" else "warn"


def _header(result, generated_at: str) -> str:
    counts = result.counts()
    verdict = "Validation passed" if result.success else "Validation failed"
    detail = (f"{counts['expectations']} expectations: <b>{counts['failed']}</b> failed, "
              f"<b>{counts['warned']}</b> warned, {counts['passed']} passed")
    record = f"<span><b>Record</b> <code>{escape(result.record_id)}</code></span>" if result.record_id else ""
    meta = (f"<div class=\"meta\"><span><b>Suite</b> <code>{escape(result.suite)}</code></span>"
            f"<span><b>Generated</b> {escape(generated_at)}</span>"
            f"<span><b>Took</b> {result.seconds:.2f} s</span>{record}</div>")
    return (f"<h1>Validation report</h1><section class=\"verdict {'pass' if result.success else 'fail'}\" "
            f"id=\"verdict\"><div class=\"big\">{verdict}</div><div>{detail}</div></section>{meta}")


def _datasets_table(result) -> str:
    rows = []
    for d in result.datasets:
        state = "fail" if d.failed else "warn" if d.warned else "pass"
        rows.append(f"<tr class=\"{state}\"><td><a href=\"#{_anchor(d)}\">{escape(_label(d))}</a></td>"
                    f"<td>{_badge(state)}</td><td class=\"num\">{d.rows:,}</td><td class=\"num\">{len(d.files)}</td>"
                    f"<td class=\"num\">{len(d.columns)}</td><td class=\"num\">{len(d.outcomes)}</td>"
                    f"<td class=\"num\">{len(d.failed)}</td><td class=\"num\">{len(d.warned)}</td></tr>")
    head = ("<tr><th>dataset</th><th>result</th><th>rows</th><th>files</th><th>columns</th>"
            "<th>expectations</th><th>failed</th><th>warned</th></tr>")
    return f"<section><h2>Datasets</h2><table class=\"datasets\">{head}{''.join(rows)}</table></section>"


def _dataset(d) -> str:
    files = "".join(f"<li><code>{escape(f)}</code></li>" for f in d.files)
    columns = "".join(f"<span class=\"col\"><code>{escape(name)}</code> {escape(kind)}</span>"
                      for name, kind in d.columns.items())
    facts = (f"<div class=\"facts\"><span><b>Rows</b> {d.rows:,}</span><span><b>Revision</b> "
             f"{escape(d.rev) if d.rev else 'workspace'}</span><span><b>Files</b> {len(d.files)}</span></div>"
             f"<details class=\"files\"><summary>{len(d.files)} file(s), read in this order "
             f"(rows count from 0 through them)</summary><ul>{files}</ul></details>"
             f"<div class=\"columns\"><b>Columns ({len(d.columns)})</b> {columns or '<i>none</i>'}</div>")
    return (f"<section class=\"dataset\" id=\"{_anchor(d)}\"><h2>{escape(_label(d))} "
            f"{_badge('fail' if d.failed else 'warn' if d.warned else 'pass')}</h2>{facts}"
            f"{_expectations_table(d.outcomes)}</section>")


def _expectations_table(outcomes) -> str:
    ordered = sorted(enumerate(outcomes), key=lambda pair: (_STATUS_ORDER[status(pair[1])], pair[0]))
    rows = "".join(_expectation_row(number, outcome) for number, outcome in ordered)
    head = ("<thead><tr><th>#</th><th>result</th><th>expectation</th><th>column(s)</th><th>severity</th>"
            "<th>observed</th><th>failing</th><th>failing %</th><th>mostly</th><th>failing rows (sample)</th>"
            "</tr></thead>")
    return f"<table class=\"expectations\">{head}<tbody>{rows}</tbody></table>"


def _expectation_row(number: int, outcome) -> str:
    e, state = outcome.expectation, status(outcome)
    rule = _rule(e)
    problem = f"<div class=\"problem\">{escape(outcome.problem)}</div>" if outcome.problem else ""
    columns = e.columns or e.params.get("columns") or []
    return (f"<tr class=\"{state}\"><td class=\"num\">{number + 1}</td><td>{_badge(state)}</td>"
            f"<td><div class=\"name\">{escape(e.name)}</div><div class=\"kind\"><code>{escape(e.kind)}</code>"
            f"{f' {rule}' if rule else ''}</div>{problem}</td>"
            f"<td>{', '.join(f'<code>{escape(str(c))}</code>' for c in columns) or '&mdash;'}</td>"
            f"<td>{escape(e.severity)}</td><td class=\"observed\">{_observed(outcome.observed)}</td>"
            f"<td class=\"num\">{_count(outcome)}</td><td class=\"num\">{_percent(outcome.unexpected_percent)}</td>"
            f"<td class=\"num\">{_mostly(e)}</td><td>{_sample(outcome.sample)}</td></tr>")


def _rule(e) -> str:
    """The expectation's own keys (``min=0, max=120``, ``values=[...]``), escaped."""
    shown = {k: v for k, v in e.to_json().items() if k not in _COMMON}
    return escape(", ".join(f"{k}={_value(v)}" for k, v in shown.items()))


def _observed(value) -> str:
    if value is None:
        return "&mdash;"
    if isinstance(value, dict):
        return "<br>".join(f"<code>{escape(str(k))}</code>: {escape(_value(v))}" for k, v in value.items())
    return escape(_value(value))


def _count(outcome) -> str:
    if outcome.unexpected is None:
        return "&mdash;"
    of = f" <span class=\"of\">of {outcome.considered:,}</span>" if outcome.considered is not None else ""
    return f"{outcome.unexpected:,}{of}"


def _percent(value: float | None) -> str:
    if value is None:
        return "&mdash;"
    if 0 < value < 0.01:
        return "&lt;0.01%"
    return f"{value:.2f}%"


def _mostly(e) -> str:
    return "&mdash;" if not e.row_level else _value(e.mostly)


def _sample(sample: list[dict]) -> str:
    if not sample:
        return ""
    items = []
    for item in sample:
        if "values" in item:
            shown = ", ".join(f"{k}={_value(v)}" for k, v in item["values"].items())
        else:
            shown = _value(item.get("value"))
        items.append(f"<li><span class=\"row\">row {int(item['row']):,}</span> <code>{escape(shown)}</code></li>")
    return f"<ul class=\"sample\">{''.join(items)}</ul>"


def _value(value) -> str:
    """A value as text: null, a quoted string, a short number, a list; not yet escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.6g}"


def _badge(state: str) -> str:
    text = {"pass": "pass", "fail": "FAIL", "warn": "warn"}[state]
    return f"<span class=\"badge {state}\">{text}</span>"


def _label(d) -> str:
    return f"{d.target}@{d.rev}" if d.rev else d.target


def _anchor(d) -> str:
    label = _label(d)
    readable = "".join(ch if ch.isalnum() else "-" for ch in label)[:40]
    return f"ds-{readable}-{zlib.crc32(label.encode()):08x}"  # unique even when labels differ in punctuation


def _footer() -> str:
    return ("<footer><h2>How to read this</h2><ul>"
            "<li><b>FAIL</b>: an <code>error</code> expectation that does not hold (the validation exits 1); "
            "<b>warn</b>: a <code>warn</code> one that does not hold (reported only).</li>"
            "<li>Row-level expectations count failing rows among the rows they look at (missing values are "
            "skipped, except by <code>not_null</code>); they hold when the passing share is at least "
            "<code>mostly</code>.</li>"
            "<li>The sample lists the first failing rows in file order; rows count from 0 through the files "
            "in the order listed.</li>"
            "<li>A problem (a column the data lacks, a type the expectation cannot judge) fails that "
            "expectation only; the others are still evaluated.</li></ul>"
            "<p>Generated by mlctl data validate.</p></footer>")
