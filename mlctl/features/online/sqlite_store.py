"""The embedded online store: one SQLite database in .mlctl/db/ (WAL: readers never block)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS feature_values (
    view TEXT NOT NULL, entity_key TEXT NOT NULL,
    event_ns INTEGER NOT NULL, created_ns INTEGER NOT NULL, vals TEXT NOT NULL,
    PRIMARY KEY (view, entity_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS materializations (view TEXT PRIMARY KEY, state TEXT NOT NULL);
"""

UPSERT = """
INSERT INTO feature_values (view, entity_key, event_ns, created_ns, vals) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (view, entity_key) DO UPDATE SET
    event_ns = excluded.event_ns, created_ns = excluded.created_ns, vals = excluded.vals
WHERE excluded.event_ns > feature_values.event_ns
   OR (excluded.event_ns = feature_values.event_ns AND excluded.created_ns > feature_values.created_ns)
"""

CHUNK = 500  # keys per SELECT ... IN (...): under SQLite's variable limit


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path: Path, timeout: float):
        self.path, self.timeout = Path(path), timeout
        self._local = threading.local()  # one connection per thread: serving is threaded

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from mlctl.store.sqlite import connect

            conn = connect(self.path, timeout=self.timeout)
            conn.executescript(SCHEMA)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- state ----------------------------------------------------------------------------
    def states(self) -> dict:
        if not self.path.exists():
            return {}
        rows = self._conn().execute("SELECT view, state FROM materializations").fetchall()
        return {view: json.loads(state) for view, state in rows}

    def state(self, view: str) -> dict | None:
        return self.states().get(view) if self.path.exists() else None

    # -- writing --------------------------------------------------------------------------
    def write(self, view: str, rows, state: dict, reset: bool = False) -> int:
        """Upsert ``rows`` of (key, event_ns, created_ns, vals_json) and set the view's
        state, in one transaction; ``reset`` first drops the view's values. Returns the
        number of values inserted or replaced."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if reset:
                conn.execute("DELETE FROM feature_values WHERE view = ?", (view,))
            before = conn.total_changes
            conn.executemany(UPSERT, ((view, *row) for row in rows))
            changed = conn.total_changes - before
            conn.execute("INSERT OR REPLACE INTO materializations (view, state) VALUES (?, ?)",
                         (view, json.dumps(state, sort_keys=True)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed

    # -- reading --------------------------------------------------------------------------
    def get(self, view: str, keys: list[str]) -> dict:
        """key -> (event_ns, created_ns, vals_json) for the keys that have a value."""
        found = {}
        conn = self._conn()
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), CHUNK):
            part = unique[i:i + CHUNK]
            sql = ("SELECT entity_key, event_ns, created_ns, vals FROM feature_values "
                   f"WHERE view = ? AND entity_key IN ({','.join('?' * len(part))})")
            for key, event_ns, created_ns, vals in conn.execute(sql, (view, *part)):
                found[key] = (event_ns, created_ns, vals)
        return found

    def count(self, view: str) -> int:
        if not self.path.exists():
            return 0
        return self._conn().execute("SELECT count(*) FROM feature_values WHERE view = ?", (view,)).fetchone()[0]
