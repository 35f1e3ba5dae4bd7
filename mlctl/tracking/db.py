"""The runs index: ``.mlctl/db/runs.sqlite`` (WAL), the source of truth for local runs.

One row per run in ``runs`` holds its attributes and, as JSON columns, its params,
latest metrics, tags, artifacts, data hashes and environment, so that listing and
filtering 100,000 runs is one table scan. ``points`` holds every metric point and
``latest`` the point each metric's current value comes from (the highest step, then
the newest time), so that concurrent writers to one run merge correctly.

Every change is one transaction (BEGIN IMMEDIATE, busy timeout instead of a lock file):
a process killed mid-write leaves the previous state, never half a run.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading

from mlctl.errors import StoreDamageError
from mlctl.store.backend.url import backend_url
from mlctl.store.sqlite import connect_readonly, is_damage
from mlctl.tracking import pgdb
from mlctl.tracking.sql import Compiler

SCHEMA_VERSION = 1
DB_NAME = "runs"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    start_time REAL NOT NULL,
    end_time REAL,
    updated REAL,
    deleted INTEGER NOT NULL DEFAULT 0,
    parent_id TEXT,
    host TEXT,
    pid INTEGER,
    owner TEXT,
    git_commit TEXT,
    git_dirty INTEGER,
    command TEXT,
    exit_code INTEGER,
    params TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '{}',
    artifacts TEXT NOT NULL DEFAULT '{}',
    data TEXT NOT NULL DEFAULT '{}',
    env TEXT NOT NULL DEFAULT '{}',
    record TEXT,
    origin TEXT
);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment, id);
CREATE INDEX IF NOT EXISTS runs_running ON runs(status) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS latest (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    ts REAL NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    ts REAL NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS points_run_key ON points(run_id, key, step);
"""

COLUMNS = (
    "id", "experiment", "name", "status", "start_time", "end_time", "updated", "deleted",
    "parent_id", "host", "pid", "owner", "git_commit", "git_dirty", "command", "exit_code", "params",
    "metrics", "tags", "artifacts", "data", "env", "record", "origin",
)
SELECT_COLUMNS = ", ".join(f"r.{c}" for c in COLUMNS)


class Database:
    """One connection per process and database file, shared by threads under a lock.

    The tracking code's seam: pgdb.PgDatabase has the same face on PostgreSQL. Where
    their SQL differs, the code asks the database: ``for_update`` (lock the row read
    before a read-modify-write; SQLite's writers are serialised already),
    ``point_order`` (the points' insertion order), ``compiler`` (filters), ``no_limit``."""

    dialect = "sqlite"
    for_update = ""
    point_order = "rowid"
    compiler = Compiler
    no_limit = -1
    closed = False  # (a backend connection can be lost: pgdb.PgDatabase.closed)

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.mutex = threading.RLock()

    @contextlib.contextmanager
    def write(self):
        """An immediate (writer) transaction; rolled back on any error."""
        with self.mutex:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @staticmethod
    def is_duplicate(exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc)

    @contextlib.contextmanager
    def read(self):
        """A consistent snapshot for several SELECTs."""
        with self.mutex:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")


_open: dict[str, tuple[int, int, Database]] = {}
_open_lock = threading.Lock()


def exists(repo) -> bool:
    """Whether there are runs to read: a backend is configured, or the local index exists."""
    return backend_url(repo) is not None or repo.db_path(DB_NAME).is_file()


_by_repo: dict[int, tuple[object, int, float, Database]] = {}
RECHECK_SECONDS = 1.0


def database(repo) -> Database | pgdb.PgDatabase:
    """The process's connection to ``repo``'s runs index (the backend's when
    ``backend.url`` is set), created on first use."""
    import time

    hit = _by_repo.get(id(repo))
    now = time.monotonic()
    if hit and hit[0] is repo and hit[1] == os.getpid() and now - hit[2] < RECHECK_SECONDS and not hit[3].closed:
        return hit[3]
    db = _open_database(repo)
    if len(_by_repo) > 64:  # a server making a Repo per request must not grow this forever
        _by_repo.clear()
    _by_repo[id(repo)] = (repo, os.getpid(), now, db)
    return db


def _open_database(repo) -> Database | pgdb.PgDatabase:
    url = backend_url(repo)
    if url is not None:
        return pgdb.database(url)
    return sqlite_database(repo)


def sqlite_database(repo) -> Database:
    """``repo``'s own SQLite runs index, whatever the backend: a Ray task's scratch
    repository keeps what its command logged there for the driver to carry (relay.py)."""
    path = repo.db_path(DB_NAME)
    key = str(path)
    with _open_lock:
        cached = _open.get(key)
        if cached and cached[0] == os.getpid() and cached[1] == _inode(path):
            return cached[2]
        try:
            db = Database(repo.sqlite(DB_NAME))
            _ensure_schema(db)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged(repo, exc) from None
            raise
        _open[key] = (os.getpid(), _inode(path), db)
        return db


def read_only_database(repo) -> Database | pgdb.PgDatabase:
    """A connection that never writes (not cached), for read-only views such as
    `mlctl status`: it works on a full disk (see store/sqlite.py). On the backend, the
    process's connection (the local disk plays no part)."""
    if backend_url(repo) is not None:
        return database(repo)
    try:
        db = Database(connect_readonly(repo.db_path(DB_NAME), timeout=repo.lock_timeout()))
        version = db.conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise damaged(repo, exc) from None
        raise
    if version != SCHEMA_VERSION:
        db.conn.close()
        raise StoreDamageError(f"the runs index has schema {version}, not {SCHEMA_VERSION}",
                               hint="run any `mlctl run` command once to bring it up to date")
    return db


def damaged(repo, exc: BaseException) -> StoreDamageError:
    return StoreDamageError(f"the runs index {repo.db_path(DB_NAME)} is damaged ({exc})",
                            hint="`mlctl fsck --repair` rebuilds it from what is readable and the run records "
                                 "in the store")


def _inode(path) -> int:
    """The file's identity, so a database replaced under the same path is reopened."""
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return -1


def _ensure_schema(db: Database) -> None:
    version = db.conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise StoreDamageError(f"the runs index has schema {version}; this mlctl reads up to "
                               f"{SCHEMA_VERSION}", hint="upgrade mlctl")
    with db.write() as conn:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def forget_all() -> None:
    """Drop cached connections (after a fork, or in tests that delete repositories)."""
    with _open_lock:
        for _pid, _ino, db in _open.values():
            with contextlib.suppress(Exception):
                db.conn.close()
        _open.clear()
        _by_repo.clear()
    pgdb.forget_all()


def _after_fork_in_child() -> None:
    _open.clear()
    _by_repo.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
