"""Rows for the human views of runs (the CLI renders them; this decides what they hold)."""

from __future__ import annotations

from mlctl.errors import UsageError
from mlctl.store.times import human_duration, local_time
from mlctl.tracking import query
from mlctl.tracking.run import Run

BASE_COLUMNS = ("id", "experiment", "name", "status", "started", "duration")


def duration_text(seconds: float | None) -> str | None:
    return None if seconds is None else human_duration(seconds)


def list_columns(runs: list[Run], chosen: list[str] | None = None) -> list[str]:
    """The table's columns: the ``chosen`` ones (see check_columns), else attributes, then
    every param and metric the runs have."""
    if chosen:
        return chosen
    params = sorted({k for run in runs for k in run.params})
    metrics = sorted({k for run in runs for k in run.metrics})
    return [*BASE_COLUMNS, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics)]


def check_columns(text: str) -> list[str]:
    """``--columns id,params.C``: each checked as sort keys are (an unknown one is exit 2,
    not a column of ``-``) and spelled canonically (``param.C`` -> ``params.C``)."""
    return [check_column(c.strip()) for c in text.split(",") if c.strip()]


def check_column(column: str) -> str:
    if column in BASE_COLUMNS:
        return column
    try:
        parser = query.Parser(column)
        if parser.tok.kind != "field" or parser.tokens[1].kind != "end":
            raise UsageError("not a field")
        field = parser.parse_field()
    except UsageError:
        raise UsageError(f"unknown column {column!r}",
                         hint=f"use {', '.join(BASE_COLUMNS)}, an attribute (status, exit_code, commit, ...), "
                              "params.KEY, metrics.KEY or tags.KEY") from None
    return field.key if field.scope == "attributes" else str(field)


def cell(run: Run, column: str):
    if column == "started":
        return local_time(run.start_time)
    if column == "duration":
        return duration_text(run.duration)
    scope, dot, key = column.partition(".")
    if dot and scope in ("params", "metrics", "tags"):
        return getattr(run, scope).get(key)
    if column in ("git_commit", "commit"):
        return run.git["commit"]
    if column in ("git_dirty", "dirty"):
        return run.git["dirty"]
    return getattr(run, column, None)


def list_rows(runs: list[Run], columns: list[str]) -> list[list]:
    return [[cell(run, c) for c in columns] for run in runs]


def show_lines(run: Run, point_counts: dict[str, int]) -> list[tuple[str, object]]:
    """(label, value) pairs for ``run show``; section headers have value None."""
    env = run.env
    git = run.git
    status = run.status + (f" (exit {run.exit_code})" if run.exit_code is not None else "")
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    lines: list[tuple[str, object]] = [
        ("run", run.id), ("experiment", run.experiment), ("name", run.name),
        ("status", status + (" [deleted]" if run.deleted else "")),
        ("started", local_time(run.start_time)), ("ended", local_time(run.end_time)),
        ("duration", duration_text(run.duration)),
        ("git", f"{git['commit'] or '-'}{' (dirty)' if git['dirty'] else ''}"),
        ("command", run.command), ("host", run.host),
        ("python", f"{env.get('python', '-')}" + (f"; {packages}" if packages else "")),
    ]
    if run.parent_id:
        lines.append(("parent", run.parent_id))
    if env.get("error"):
        lines.append(("error", env["error"]))
    if run.origin:
        lines.append(("pulled from", run.origin))
    lines += _section("params", run.params)
    lines += _section("metrics", {k: _metric_cell(v, point_counts.get(k, 0)) for k, v in run.metrics.items()})
    lines += _section("tags", run.tags)
    known = run.artifacts_if_known()
    lines += _section("artifacts", known) if known is not None else [
        ("artifacts", "in the clone that logged the run; not on the remote yet (`mlctl run push` there)")]
    lines += _section("data", run.data)
    lines += _section("outputs", run.outputs)
    for stream in ("stdout", "stderr"):
        tail = env.get("output_tail", {}).get(stream)
        if tail:
            lines.append((f"{stream} (tail)", None))
            lines += [("", line) for line in tail.rstrip("\n").splitlines()[-10:]]
    return lines


def number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return f"{value:.6g}"


def _metric_cell(value: float, count: int) -> str:
    return f"{number(value)}  ({count} points)" if count > 1 else number(value)


def _section(title: str, items: dict) -> list[tuple[str, object]]:
    if not items:
        return []
    return [(f"{title}:", None), *((f"  {k}", v) for k, v in sorted(items.items()))]


def compare_rows(result: dict, short: dict[str, str]) -> tuple[list[str], list[list]]:
    """``short``: each run's abbreviated id (runs.short_run_ids), as the column title."""
    ids = result["runs"]
    columns = ["", "", *(short.get(i, i) for i in ids)]
    rows = []
    for section in ("attributes", "params", "metrics", "tags"):
        items = result[section]
        if not items:
            continue
        rows.append(["", f"{section}:", *([""] * len(ids))])
        for item in items:
            rows.append(["*" if item["differs"] else "", f"  {item['key']}", *item["values"]])
    return columns, rows
