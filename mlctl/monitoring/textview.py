"""The plain-text view of a drift result: a table of columns and a few summary lines."""

from __future__ import annotations

from mlctl.monitoring.methods import METHODS

HEADERS = ("column", "kind", "method", "statistic", "threshold", "missing ref->cur", "drifted")


def columns_table(result) -> tuple[tuple, list[list]]:
    rows = [_row(c) for c in result.columns if c.status == "tested"]
    for col in (result.target, result.prediction):
        if col is not None and col.status == "tested":
            rows.append(_row(col, f"{col.column} ({col.role})"))
    return HEADERS, rows


def _row(col, name: str | None = None) -> list:
    stat = None
    if col.method:
        stat = f"p={col.p_value:.3g}" if METHODS[col.method].test else col.distance
    missing = f"{col.missing['reference_share']:.1%}->{col.missing['current_share']:.1%}"
    drifted = ("yes" + (f" ({', '.join(col.reasons)})" if col.reasons != ["distribution"] else "")) if col.drifted else "no"
    return [name or col.column, col.kind, col.method, stat, col.threshold, missing, drifted]


def summary_lines(result, record: dict | None, report: str | None = None) -> list[str]:
    """``record`` is None when nothing was recorded (outside a repository)."""
    tested = result.tested
    lines = []
    skipped = [c for c in result.columns if c.status != "tested"]
    for col in skipped:
        lines.append(f"skipped {col.column}: {col.skip_reason}")
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    lines.append(f"dataset drift: {verdict} ({len(result.drifted_columns)}/{len(tested)} columns, "
                 f"{result.share_drifted:.0%}; threshold {result.drift_share:.0%})")
    perf = result.performance
    if perf and perf["current"]:
        shown = ", ".join(f"{m} {perf['current'][m]:.4g}" + (f" ({perf['delta'][m]:+.4g} vs reference)"
                          if m in perf["delta"] else "") for m in perf["metrics"])
        lines.append(f"performance ({perf['task']}, {perf['current']['rows']} labelled rows): {shown}")
    if record is None:
        lines += [f"report: {report}"] if report else []
        return lines
    if record.get("report"):
        lines.append(f"report: {record['report']['path']}")
    lines.append(f"recorded as {record['id']}")
    return lines
