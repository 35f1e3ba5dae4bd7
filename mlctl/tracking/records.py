"""Run records: one ended run as canonical JSON (sorted keys, strict numbers), stored as
an object in the content-addressed store. They are what `run push`/`run pull` carry.
They are encoded by values.dumps (raw UTF-8, NaN as null), not store/records.py's canonical
encoder: a record's hash must stay what it was for the runs already pushed.

Export and import round-trip exactly, so a run imported from a record exports to the
same bytes (the same hash) until something changes it locally.
"""

from __future__ import annotations

import json

from mlctl.errors import StoreDamageError
from mlctl.store.records import load_record
from mlctl.tracking import ids, values
from mlctl.tracking.artifact_trees import check_value
from mlctl.tracking.db import database

KIND = "mlctl.run"
VERSION = 2  # 2: ``artifacts`` may be a tree hash (tracking/artifacts.py); 1: always a flat map
ATTRIBUTES = ("id", "experiment", "name", "status", "start_time", "end_time", "updated", "parent_id",
              "host", "pid", "git_commit", "git_dirty", "command", "exit_code")
JSON_COLUMNS = ("params", "metrics", "tags", "artifacts", "data", "env")


def export_record(repo, run_id: str, db=None) -> bytes:
    """The run's record, read from ``db`` (default: the repository's runs index)."""
    db = db or database(repo)
    with db.read() as conn:
        row = conn.execute(f"SELECT {', '.join(ATTRIBUTES + JSON_COLUMNS)} FROM runs WHERE id = ?",
                           (run_id,)).fetchone()
        points = conn.execute("SELECT key, step, ts, value FROM points WHERE run_id = ? "
                              f"ORDER BY key, step, ts, {db.point_order}", (run_id,)).fetchall()
    record = {"kind": KIND, "version": VERSION, **dict(zip(ATTRIBUTES, row[: len(ATTRIBUTES)]))}
    for column, raw in zip(JSON_COLUMNS, row[len(ATTRIBUTES):]):
        record[column] = json.loads(raw)
    if not isinstance(record["artifacts"], str):
        record["version"] = 1  # a run without a tree exports as it always did (same hash)
    history: dict[str, list] = {}
    for key, step, ts, value in points:
        history.setdefault(key, []).append([step, ts, value])
    record["points"] = history
    return values.dumps(record).encode("utf-8")


def parse_record(data: bytes, digest: str) -> dict:
    record = load_record(data, KIND, f"run record {digest}", versions=range(1, VERSION + 1))
    if not ids.is_run_id(record.get("id")):
        raise StoreDamageError(f"object {digest} is not a run record")
    record["artifacts"] = check_value(record.get("artifacts") or {}, f"run record {digest}")
    return record


def import_records(repo, records: list[tuple[str, dict]], origin: str, db=None) -> None:
    """Write pulled runs (replacing older copies of the same ids) in one transaction, into
    ``db`` (default: the repository's runs index)."""
    with (db or database(repo)).write() as conn:
        for digest, record in records:
            run_id = record["id"]
            for table, column in (("points", "run_id"), ("latest", "run_id"), ("runs", "id")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (run_id,))
            row = {name: record.get(name) for name in ATTRIBUTES}
            row.update({column: values.dumps(record.get(column) or {}) for column in JSON_COLUMNS})
            row.update(deleted=0, record=digest, origin=origin)
            conn.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                         tuple(row.values()))
            _import_points(conn, run_id, record.get("points") or {})


def _import_points(conn, run_id: str, history: dict) -> None:
    rows = [(run_id, key, step, ts, value) for key, points in history.items() for step, ts, value in points]
    conn.executemany("INSERT INTO points (run_id, key, step, ts, value) VALUES (?, ?, ?, ?, ?)", rows)
    latest = {}
    for row in rows:
        best = latest.get(row[1])
        if best is None or (row[2], row[3]) >= (best[2], best[3]):
            latest[row[1]] = row
    conn.executemany("INSERT INTO latest (run_id, key, step, ts, value) VALUES (?, ?, ?, ?, ?)", list(latest.values()))
