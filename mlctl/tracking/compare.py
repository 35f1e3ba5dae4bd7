"""``run compare``: attributes, params, latest metrics and tags of several runs side by side,
with every row whose values differ marked."""

from __future__ import annotations

from mlctl.errors import UsageError
from mlctl.tracking import values
from mlctl.tracking.runs import get_runs

MISSING = None

ATTRIBUTE_ROWS = (
    ("experiment", lambda r: r.experiment),
    ("name", lambda r: r.name),
    ("status", lambda r: r.status),
    ("duration", lambda r: r.duration),
    ("git_commit", lambda r: (r.git["commit"] or "")[:12] or None),
    ("git_dirty", lambda r: r.git["dirty"]),
)


def compare_runs(repo, refs: list[str]) -> dict:
    """{"runs": [ids], "attributes"|"params"|"metrics"|"tags": [{"key", "values", "differs"}]}."""
    if len(refs) < 2:
        raise UsageError("run compare needs at least two runs")
    runs = get_runs(repo, refs)
    ids = [run.id for run in runs]
    if len(set(ids)) != len(ids):
        raise UsageError("the same run is named twice")
    return {
        "runs": ids,
        "attributes": [_row(key, [get(run) for run in runs]) for key, get in ATTRIBUTE_ROWS],
        "params": _rows(runs, "params"),
        "metrics": _rows(runs, "metrics"),
        "tags": _rows(runs, "tags"),  # as the dashboard's compare shows them
        "_runs": runs,
    }


def _rows(runs, section: str) -> list[dict]:
    keys = sorted({key for run in runs for key in getattr(run, section)})
    return [_row(key, [getattr(run, section).get(key, MISSING) for run in runs]) for key in keys]


def _row(key: str, row_values: list) -> dict:
    # compare through the stored encoding, so that NaN equals NaN and 2 differs from "2"
    distinct = {values.dumps([v]) for v in row_values}
    return {"key": key, "values": row_values, "differs": len(distinct) > 1}


def to_json(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}
