"""Every validation is recorded, for `mlctl status` (and later lineage and the gates).

Records live in ``.mlctl/db/validation.sqlite`` (WAL; concurrent validations each insert
one row in one transaction), like the drift checks' records.
"""

from __future__ import annotations

import json
import time

from mlctl.store.sqlite import insert_row, query_rows, record_id
from mlctl.store.times import epoch_to_iso

DB = "validation"
SCHEMA = """
CREATE TABLE IF NOT EXISTS validations (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    suite TEXT NOT NULL,
    targets TEXT NOT NULL,
    success INTEGER NOT NULL,
    expectations INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    warned INTEGER NOT NULL,
    failed_names TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS validations_created ON validations (created);
"""
SUMMARY_COLUMNS = ("id", "created", "suite", "targets", "success", "expectations", "failed", "warned",
                   "failed_names")


def record_validation(repo, result) -> dict:
    """Store one validation (its full result as JSON); sets and returns its record."""
    from mlctl.jsonsafe import json_safe

    result.record_id = record_id()
    counts = result.counts()
    failed_names = [f"{d.target}: {o.expectation.name}" for d in result.datasets for o in d.failed]
    row = {
        "id": result.record_id, "created": time.time(), "suite": result.suite,
        "targets": json.dumps([_shown_target(d) for d in result.datasets]), "success": int(result.success),
        "expectations": counts["expectations"], "failed": counts["failed"], "warned": counts["warned"],
        "failed_names": json.dumps(failed_names), "result": json.dumps(json_safe(result.to_json())),
    }
    insert_row(repo, DB, SCHEMA, "validations", row)
    return to_record(row)


def _shown_target(dataset) -> str:
    return f"{dataset.target}@{dataset.rev}" if dataset.rev else dataset.target


def to_record(row: dict) -> dict:
    """The public shape of a record (docs/json.md, "validation record")."""
    return {
        "id": row["id"],
        "time": epoch_to_iso(row["created"], "seconds"),
        "suite": row["suite"], "targets": json.loads(row["targets"]), "success": bool(row["success"]),
        "expectations": row["expectations"], "failed": row["failed"], "warned": row["warned"],
        "failed_expectations": json.loads(row["failed_names"]),
    }


def _query(repo, sql: str, args=()) -> list[dict]:
    return query_rows(repo, DB, SCHEMA, sql, args)


def latest_validation(repo) -> dict | None:
    rows = _query(repo, f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM validations ORDER BY created DESC, id DESC LIMIT 1")
    return to_record(rows[0]) if rows else None


def get_validation(repo, validation_id: str) -> dict | None:
    """A record with the full result under ``result``."""
    rows = _query(repo, f"SELECT {', '.join(SUMMARY_COLUMNS)}, result FROM validations WHERE id = ?",
                  (validation_id,))
    if not rows:
        return None
    record = to_record(rows[0])
    record["result"] = json.loads(rows[0]["result"])
    return record
