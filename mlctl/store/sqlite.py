"""SQLite databases under ``.mlctl/db/`` in WAL mode: for indexes that must stay fast at
100,000 rows and take concurrent writers (busy timeout instead of a lock file)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def connect(path: str | os.PathLike, timeout: float = 60.0) -> sqlite3.Connection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn
