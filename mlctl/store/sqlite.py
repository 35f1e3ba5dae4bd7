"""SQLite databases under ``.mlctl/`` in WAL mode: for indexes that must stay fast at
100,000 rows and take concurrent writers (busy timeout instead of a lock file).

Also what every user of them needs when things go wrong: telling a damaged file from a
full or read-only disk, a read-only connection that works on a full disk, and moving a
damaged file aside.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "database disk image")
UNWRITABLE_WORDS = ("disk is full", "disk i/o error", "readonly", "read-only", "unable to open")


def connect(path: str | os.PathLike, timeout: float = 60.0) -> sqlite3.Connection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        # only a database not yet in WAL is switched: the switch takes a write lock, which a
        # read-only command must not need (it fails on a full disk)
        if _retry_locked(lambda: conn.execute("PRAGMA journal_mode").fetchone()[0], timeout) != "wal":
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), timeout)
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_readonly(path: str | os.PathLike, timeout: float = 60.0) -> sqlite3.Connection:
    """A connection that never writes, for read-only commands. It works on a full disk
    too: where SQLite cannot create the shared-memory file a WAL reader needs, it reads
    the database file alone (``immutable``: commits still in a live writer's WAL are not
    seen; when no process has the database open, the WAL is empty)."""
    uri = "file:" + quote(os.fspath(path))
    conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA schema_version").fetchone()  # the first real access
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if not is_unwritable(exc):
            raise
    return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)


def is_damage(exc: BaseException) -> bool:
    """True when SQLite says the file itself is damaged (not locked, not a full disk)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(w in text for w in DAMAGE_WORDS)


def is_unwritable(exc: BaseException) -> bool:
    """True when SQLite could not write: a full disk, a read-only file or filesystem."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and any(w in text for w in UNWRITABLE_WORDS)


def move_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged database (with its -wal and -shm) to ``NAME.damaged-<time>``,
    kept for a post-mortem; returns the new path of the main file."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    for suffix in ("-wal", "-shm", ""):
        try:
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
    return aside


def _retry_locked(statement, timeout: float):
    """Run ``statement`` again while the database is locked. Switching a new database to
    WAL takes an exclusive lock, and SQLite can answer "locked" at once, without its busy
    handler, when several processes open the same new database together."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return statement()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def record_id() -> str:
    """A row id sortable by time and unique across machines: ``20240601T120000123Z-1a2b3c4d``
    (drift checks, validations)."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}Z"
    return f"{stamp}-{os.urandom(4).hex()}"


def query_rows(repo, db: str, schema: str, sql: str, args=()) -> list[dict]:
    """Rows (as dicts) of a record database under ``.mlctl/db/``; none when it does not exist
    yet, since a read never creates the database (drift checks, validations)."""
    if not repo.db_path(db).is_file():
        return []
    conn = repo.sqlite(db)
    try:
        conn.executescript(schema)
        cursor = conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]
    finally:
        conn.close()


def insert_row(repo, db: str, schema: str, table: str, row: dict) -> None:
    """One row into a record database under ``.mlctl/db/`` (created on first use), in its
    own transaction: concurrent writers each add theirs (drift checks, validations)."""
    conn = repo.sqlite(db)
    try:
        conn.executescript(schema)
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                         list(row.values()))
    finally:
        conn.close()
