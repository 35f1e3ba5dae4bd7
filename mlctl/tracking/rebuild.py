"""Checking and rebuilding the runs index (``.mlctl/db/runs.sqlite``), for `mlctl fsck`.

The index is where local runs live, so a rebuild keeps everything it can: the damaged
file is moved aside (``runs.sqlite.damaged-<time>``, never deleted), every row SQLite can
still read is copied into a fresh index, and every run record in the store (the ones
`run push` wrote or `run pull` fetched) restores the runs the damage took. What neither
holds (points written after a run was last pushed, runs never pushed, on the damaged
pages) is lost, and the report says how many runs came back from where.
"""

from __future__ import annotations

import contextlib
import sqlite3

from mlctl.errors import StoreDamageError
from mlctl.store.sqlite import is_damage, move_aside
from mlctl.tracking import db as db_mod
from mlctl.tracking.records import import_records, parse_record

RECORD_PREFIX = b'{"artifacts":'  # canonical JSON, sorted keys: every run record starts so
TABLES = ("runs", "latest", "points")


def problem(repo) -> str | None:
    """None when the index is missing (no runs yet) or sound; else what SQLite says.
    Runs on the PostgreSQL backend are no file of ours to check: None."""
    if not db_mod.exists(repo):
        return None
    try:
        database = db_mod.database(repo)
        if database.dialect != "sqlite":
            return None
        with database.mutex:
            verdict = database.conn.execute("PRAGMA quick_check").fetchone()[0]
    except StoreDamageError as exc:
        return exc.message
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return str(exc)
    return None if verdict == "ok" else verdict


def rebuild(repo) -> dict:
    """Replace a damaged index by what can be saved; returns what was done."""
    db_mod.forget_all()
    aside = move_aside(repo.db_path(db_mod.DB_NAME))
    salvaged = _salvage(repo, aside)
    restored = _restore_from_records(repo, salvaged)
    return {"index": str(repo.db_path(db_mod.DB_NAME)), "moved_to": str(aside),
            "runs_salvaged": len(salvaged), "runs_from_records": restored}


def _salvage(repo, aside) -> set[str]:
    """Copy every readable row of the damaged file; returns the run ids saved."""
    fresh = db_mod.database(repo)
    try:
        old = sqlite3.connect(f"file:{aside}?mode=ro", uri=True)
    except sqlite3.Error:
        return set()
    with contextlib.closing(old), fresh.write() as conn:
        for table in TABLES:
            _copy_rows(old, conn, table)
        return {row[0] for row in conn.execute("SELECT id FROM runs")}


def _copy_rows(old, conn, table: str) -> None:
    """Rows in order until the first one SQLite cannot read."""
    try:
        cursor = old.execute(f"SELECT * FROM {table}")
        for row in cursor:
            conn.execute(f"INSERT OR IGNORE INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    except sqlite3.DatabaseError:
        pass


def _restore_from_records(repo, salvaged: set[str]) -> int:
    """Import the newest record of each run the salvage did not save."""
    newest: dict[str, tuple[str, dict]] = {}
    for digest in repo.objects.iter_hashes():
        record = _record(repo, digest)
        if record is None or record["id"] in salvaged:
            continue
        best = newest.get(record["id"])
        if best is None or (record.get("updated") or 0) > (best[1].get("updated") or 0):
            newest[record["id"]] = (digest, record)
    if newest:
        import_records(repo, list(newest.values()), origin=None)
    return len(newest)


def _record(repo, digest: str) -> dict | None:
    try:
        with open(repo.objects.path(digest), "rb") as f:
            if f.read(len(RECORD_PREFIX)) != RECORD_PREFIX:
                return None
            f.seek(0)
            data = f.read()
        return parse_record(data, digest)
    except (OSError, StoreDamageError):
        return None
