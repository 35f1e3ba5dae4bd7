"""Every validation is recorded, for `mlctl status`, `mlctl lineage` and the dashboard.

Records live in ``.mlctl/db/validation.sqlite`` (WAL; concurrent validations each insert
one row in one transaction), like the drift checks' records. Each row names the data
versions it read (``data``, versions.py), so a data version's last validation can be found
by its hash. Databases written before that column existed gain it in place on first use
(``migrate``); their rows read with no data versions.
"""

from __future__ import annotations

import json
import time

from mlctl.store.sqlite import insert_row, query_rows, record_id
from mlctl.store.times import epoch_to_iso
from mlctl.validation.versions import data_versions

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
    result TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS validations_created ON validations (created);
"""
SUMMARY_COLUMNS = ("id", "created", "suite", "targets", "success", "expectations", "failed", "warned",
                   "failed_names", "data")
# columns added after the first release, with their definition: old databases gain them in place
ADDED_COLUMNS = {"data": "TEXT NOT NULL DEFAULT '[]'"}
MAX_LISTED = 1000
_MIGRATED: set[str] = set()  # databases checked by this process (one PRAGMA each, not one per read)


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
        "data": json.dumps(data_versions(repo, result)),
    }
    migrate(repo)
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
        "data": json.loads(row["data"]),
    }


def migrate(repo) -> None:
    """Add the columns an older ``validation.sqlite`` lacks, in place, once: checked and
    altered inside one write transaction, so two processes upgrading together add each
    column once. A database not written yet is left alone (reads never create it)."""
    path = repo.db_path(DB)
    if str(path) in _MIGRATED or not path.is_file():
        return
    conn = repo.sqlite(DB)
    try:
        conn.executescript(SCHEMA)
        if _missing_columns(conn):
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                for name in _missing_columns(conn):
                    conn.execute(f"ALTER TABLE validations ADD COLUMN {name} {ADDED_COLUMNS[name]}")
        _MIGRATED.add(str(path))
    finally:
        conn.close()


def _missing_columns(conn) -> list[str]:
    present = {row[1] for row in conn.execute("PRAGMA table_info(validations)")}
    return [name for name in ADDED_COLUMNS if name not in present]


def _query(repo, sql: str, args=()) -> list[dict]:
    migrate(repo)
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


def list_validations(repo, limit: int = 50, data_hash: str | None = None) -> list[dict]:
    """Records, newest first; with ``data_hash``, only those that read that data version."""
    where, args = "", []
    if data_hash is not None:
        where = "WHERE EXISTS (SELECT 1 FROM json_each(validations.data) WHERE json_extract(value, '$.hash') = ?)"
        args.append(data_hash)
    sql = f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM validations {where} ORDER BY created DESC, id DESC LIMIT ?"
    return [to_record(row) for row in _query(repo, sql, (*args, max(1, min(int(limit), MAX_LISTED))))]


def validations_of(repo, data_hash: str, limit: int = 1) -> list[dict]:
    """The last validation(s) that read data version ``data_hash``, newest first."""
    return list_validations(repo, limit=limit, data_hash=data_hash)
