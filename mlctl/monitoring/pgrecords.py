"""Drift check records on the PostgreSQL backend (``backend.url``): records.py's ``checks``
table as a backend table (schema step 3, mlctl/store/backend/schema.py), on the process's
one backend connection, so a check run on any machine is in everyone's `mlctl status`,
lineage and retrain. The same columns and the same SQL as the SQLite file; each check is
one INSERT in its own transaction, as there.
"""

from __future__ import annotations

from mlctl.tracking.api import database


def insert(repo, row: dict) -> None:
    db = database(repo)
    with db.write() as conn:
        conn.execute(f"INSERT INTO checks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))


def query(repo, sql: str, args=()) -> list[dict]:
    db = database(repo)
    with db.mutex:
        cursor = db.conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]
