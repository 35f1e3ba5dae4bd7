"""Every drift check is recorded, for `mlctl status`, lineage and retraining.

Records live in ``.mlctl/db/monitoring.sqlite`` (WAL; concurrent checks each insert one
row in one transaction), or with a team backend in its ``checks`` table (pgrecords.py):
``_store`` is the one place that knows which. An HTML report, when one was written, is also put in the object
store, so the record keeps it after the file is gone; gc keeps those objects.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mlctl.store.backend.url import backend_url
from mlctl.store.sqlite import insert_row, query_rows, record_id
from mlctl.store.times import epoch_to_iso

DB = "monitoring"
SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    model TEXT,
    reference TEXT NOT NULL,
    current TEXT NOT NULL,
    dataset_drift INTEGER NOT NULL,
    share_drifted REAL NOT NULL,
    drift_share REAL NOT NULL,
    n_columns INTEGER NOT NULL,
    n_drifted INTEGER NOT NULL,
    drifted_columns TEXT NOT NULL,
    report_object TEXT,
    report_path TEXT,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_created ON checks (created);
CREATE INDEX IF NOT EXISTS checks_model ON checks (model, created);
"""
SUMMARY_COLUMNS = ("id", "created", "model", "reference", "current", "dataset_drift", "share_drifted",
                   "drift_share", "n_columns", "n_drifted", "drifted_columns", "report_object", "report_path")


def record_check(repo, result, reference: str, current: str, model: str | None = None,
                 report_path: str | os.PathLike | None = None) -> dict:
    """Store one check; returns its record (see ``to_record``)."""
    report_object = None
    if report_path is not None and Path(report_path).is_file():
        report_object = repo.objects.put_bytes(Path(report_path).read_bytes())  # object before row
    data = result.to_json()
    row = {
        "id": record_id(), "created": time.time(), "model": model, "reference": reference,
        "current": current, "dataset_drift": int(data["dataset_drift"]), "share_drifted": data["share_drifted"],
        "drift_share": data["drift_share"], "n_columns": data["number_of_columns"],
        "n_drifted": data["number_of_drifted_columns"], "drifted_columns": json.dumps(data["drifted_columns"]),
        "report_object": report_object, "report_path": str(report_path) if report_path else None,
        "result": json.dumps(data, allow_nan=True, default=_plain),
    }
    _store(repo).insert(repo, row)
    return to_record(row)


def _plain(value):
    """numpy scalars as Python numbers, anything else as text."""
    return value.item() if hasattr(value, "item") else str(value)


def to_record(row: dict) -> dict:
    """The public shape of a record (docs/json.md, "drift check record")."""
    return {
        "id": row["id"],
        "time": epoch_to_iso(row["created"], "seconds"),
        "model": row["model"], "reference": row["reference"], "current": row["current"],
        "dataset_drift": bool(row["dataset_drift"]), "share_drifted": row["share_drifted"],
        "drift_share": row["drift_share"], "number_of_columns": row["n_columns"],
        "number_of_drifted_columns": row["n_drifted"], "drifted_columns": json.loads(row["drifted_columns"]),
        "report": {"object": row["report_object"], "path": row["report_path"]} if row["report_object"] else None,
    }


def _query(repo, sql: str, args=()) -> list[dict]:
    return _store(repo).query(repo, sql, args)


class _LocalStore:
    """The SQLite file under ``.mlctl/db/`` (created by the first check)."""

    @staticmethod
    def insert(repo, row: dict) -> None:
        insert_row(repo, DB, SCHEMA, "checks", row)

    @staticmethod
    def query(repo, sql: str, args=()) -> list[dict]:
        return query_rows(repo, DB, SCHEMA, sql, args)


def _store(repo):
    """Where the records live: the backend's table, or the local SQLite file."""
    if backend_url(repo) is None:
        return _LocalStore
    from mlctl.monitoring import pgrecords

    return pgrecords


def latest_check(repo, model: str | None = None) -> dict | None:
    where, args = ("WHERE model = ?", (model,)) if model else ("", ())
    rows = _query(repo, f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM checks {where} "
                        "ORDER BY created DESC, id DESC LIMIT 1", args)
    return to_record(rows[0]) if rows else None


def list_checks(repo, limit: int = 50, model: str | None = None) -> list[dict]:
    where, args = ("WHERE model = ?", (model,)) if model else ("", ())
    rows = _query(repo, f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM checks {where} "
                        "ORDER BY created DESC, id DESC LIMIT ?", (*args, int(limit)))
    return [to_record(r) for r in rows]


def get_check(repo, check_id: str) -> dict | None:
    """A record with the full drift result under ``result``."""
    rows = _query(repo, f"SELECT {', '.join(SUMMARY_COLUMNS)}, result FROM checks WHERE id = ?", (check_id,))
    if not rows:
        return None
    record = to_record(rows[0])
    record["result"] = json.loads(rows[0]["result"])
    return record


def report_objects(repo) -> list[str]:
    rows = _query(repo, "SELECT DISTINCT report_object FROM checks WHERE report_object IS NOT NULL")
    return [r["report_object"] for r in rows]
