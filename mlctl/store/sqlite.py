"""SQLite databases under ``.mlctl/db/`` in WAL mode: for indexes that must stay fast at
100,000 rows and take concurrent writers (busy timeout instead of a lock file)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path


def connect(path: str | os.PathLike, timeout: float = 60.0) -> sqlite3.Connection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), timeout)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def _retry_locked(statement, timeout: float) -> None:
    """Run ``statement`` again while the database is locked. Switching a new database to
    WAL takes an exclusive lock, and SQLite can answer "locked" at once, without its busy
    handler, when several processes open the same new database together."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
