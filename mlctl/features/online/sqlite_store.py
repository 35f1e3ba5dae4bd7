"""The embedded online store: one SQLite database in .mlctl/db/ (WAL: readers never block).

One table per view, ``"fv_<view>"(entity_key, event_ns, created_ns, v0, v1, ...)``, the
values as native SQLite values (no encoding on the hot paths); the columns follow the
view's feature list recorded in ``materializations``. A changed definition replaces the
table. SQLite keeps a NaN float as NULL.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from mlctl.store.records import canonical

STATE_TABLE = "CREATE TABLE IF NOT EXISTS materializations (view TEXT PRIMARY KEY, state TEXT NOT NULL)"
CHUNK = 500  # keys per SELECT ... IN (...): under SQLite's variable limit


def _table(view: str) -> str:
    return f'"fv_{view}"'  # view names are identifiers (features.yaml validation)


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
            conn.execute(STATE_TABLE)
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
        if not self.path.exists():
            return None
        row = self._conn().execute("SELECT state FROM materializations WHERE view = ?", (view,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- writing --------------------------------------------------------------------------
    def write(self, view: str, rows, state: dict, reset: bool = False) -> int:
        """Upsert ``rows`` of (key, event_ns, created_ns, *values), keeping a stored value
        when it is as new or newer, and set the view's state, in one transaction; ``reset``
        first replaces the view's table. Returns the number of values inserted or replaced."""
        conn = self._conn()
        width = len(state["features"])
        values = [f"v{i}" for i in range(width)]
        conn.execute("BEGIN IMMEDIATE")
        try:
            if reset:
                conn.execute(f"DROP TABLE IF EXISTS {_table(view)}")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {_table(view)} (entity_key TEXT PRIMARY KEY, "
                         f"event_ns INTEGER NOT NULL, created_ns INTEGER NOT NULL{''.join(', ' + v for v in values)})"
                         " WITHOUT ROWID")
            before = conn.total_changes
            conn.executemany(self._upsert(view, values), rows)
            changed = conn.total_changes - before
            conn.execute("INSERT OR REPLACE INTO materializations (view, state) VALUES (?, ?)",
                         (view, canonical(state).decode("ascii")))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed

    @staticmethod
    def _upsert(view: str, values: list[str]) -> str:
        table = _table(view)
        return (f"INSERT INTO {table} (entity_key, event_ns, created_ns{''.join(', ' + v for v in values)}) "
                f"VALUES ({', '.join('?' * (3 + len(values)))}) ON CONFLICT (entity_key) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in ["event_ns", "created_ns", *values])
                + f" WHERE excluded.event_ns > {table}.event_ns OR (excluded.event_ns = {table}.event_ns"
                f" AND excluded.created_ns > {table}.created_ns)")

    # -- reading --------------------------------------------------------------------------
    def get(self, view: str, keys: list[str]) -> dict:
        """key -> (event_ns, created_ns, values) for the keys that have a value."""
        import sqlite3

        found = {}
        conn = self._conn()
        unique = list(dict.fromkeys(keys))
        try:
            for i in range(0, len(unique), CHUNK):
                part = unique[i:i + CHUNK]
                sql = f"SELECT * FROM {_table(view)} WHERE entity_key IN ({','.join('?' * len(part))})"
                for row in conn.execute(sql, part):
                    found[row[0]] = (row[1], row[2], row[3:])
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        return found

    def count(self, view: str) -> int:
        if self.state(view) is None:
            return 0
        return self._conn().execute(f"SELECT count(*) FROM {_table(view)}").fetchone()[0]
