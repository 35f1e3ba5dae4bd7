"""The runs index on the PostgreSQL backend (``backend.url``): the same tables, the same
SQL and the same ``Database`` face as db.py's SQLite index, so the tracking code above
is one code path for both.

What differs, and where:

- the connection: ``PgConn`` takes the ``?`` placeholders tracking's SQL is written with;
  JSONB columns are read back as db.py's canonical JSON text (values.dumps), so a run
  reads the same from either backend;
- transactions: writes are READ COMMITTED transactions that lock the run's row (``FOR
  UPDATE``, the ``for_update`` suffix) before a read-modify-write, where SQLite's
  BEGIN IMMEDIATE serialises every writer; a snapshot read is REPEATABLE READ;
- liveness: a run's owner holds a session advisory lock on its connection (keyed by its
  owner token) for the life of its process, so a reader on any machine sees the run as
  killed once that process is gone (db.py's flock only works on one machine); a reader
  on the owner's own machine also asks the kernel, which knows before the server does
  (pgowner.py).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import math
import os
import re
import threading

from mlctl.store.backend import advisory, schema
from mlctl.store.backend.connection import connect, detach_in_child
from mlctl.tracking import pgowner, values
from mlctl.tracking.sql_pg import PgCompiler

_HUGE_INT = re.compile(r"[0-9]{309}")  # past float's range: written as 9e999, an infinity


class PgConn:
    """execute/executemany with ``?`` placeholders, as sqlite3 takes them."""

    def __init__(self, raw):
        self.raw = raw

    def execute(self, sql: str, args=()):
        if not args:
            return self.raw.execute(sql)
        return self.raw.execute(placeholders(sql), tuple(map(without_nul, args)))

    def executemany(self, sql: str, rows) -> None:
        rows = [tuple(map(without_nul, row)) for row in rows]
        if rows:  # psycopg pipelines the rows: one round trip for the batch
            with self.raw.cursor() as cur:
                cur.executemany(placeholders(sql), rows)


def without_nul(value):
    """PostgreSQL text and JSONB cannot hold U+0000 (SQLite can): it becomes U+FFFD, the
    replacement character, in text and in JSON text (a command's output tail may hold one)."""
    if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
        value = value.replace("\x00", "\ufffd")
        if value[:1] in "{[":
            value = value.replace("\\u0000", "\\ufffd")
    return value


@functools.lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """``?`` -> ``%s`` outside quoted literals, and ``%`` doubled (psycopg's syntax)."""
    out, quote = [], None
    for ch in sql:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


class PgDatabase:
    """One connection per process and backend URL, shared by threads under a lock."""

    dialect = "postgresql"
    for_update = " FOR UPDATE"
    point_order = "seq"
    compiler = PgCompiler
    no_limit = None  # LIMIT NULL: no limit

    def __init__(self, raw, url: str):
        self.raw = raw
        self.url = url
        self.conn = PgConn(raw)
        self.mutex = threading.RLock()
        self.token: str | None = None

    @property
    def closed(self) -> bool:
        """The connection was lost (the next database() call opens a new one)."""
        return self.raw.closed

    @contextlib.contextmanager
    def write(self):
        with self.mutex, self.raw.transaction():
            yield self.conn

    @contextlib.contextmanager
    def read(self):
        with self.mutex, self.raw.transaction():
            self.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield self.conn

    @staticmethod
    def is_duplicate(exc: BaseException) -> bool:
        import psycopg

        return isinstance(exc, psycopg.errors.UniqueViolation)

    # -- liveness ---------------------------------------------------------------------------
    def owner_token(self) -> str:
        """This process's owner token, its advisory lock taken on first use."""
        with self.mutex:
            if self.token is None:
                token = pgowner.new_token()
                self.raw.execute("SELECT pg_advisory_lock(%s)", (lock_key(token),))
                self.token = token
            return self.token

    def alive_owners(self, owners) -> set[str]:
        """Those of ``owners`` whose process still holds its lock (one query), less those
        this reader can see are dead though the server has not yet noticed (pgowner.py)."""
        wanted = {lock_key(owner): owner for owner in owners
                  if owner and owner.startswith("pg-") and owner != self.token and not pgowner.known_dead(owner)}
        alive = {owner for owner in owners if owner and owner == self.token}
        if not wanted:
            return alive
        with self.mutex:
            rows = self.raw.execute(f"SELECT {advisory.KEY} FROM pg_locks WHERE {advisory.HELD}").fetchall()
        for (key,) in rows:
            signed = key - (1 << 64) if key >= 1 << 63 else key
            if signed in wanted:
                alive.add(wanted[signed])
        return alive


def lock_key(token: str) -> int:
    """The advisory lock key (a signed 64-bit number) of an owner token."""
    return advisory.lock_key(token)


def _canonical_json(text: str) -> str:
    """JSONB's text (keys by length, spaces, 9e999 spelled out) as values.dumps writes it."""
    if text == "{}":  # most runs' tags, artifacts, data
        return text
    if _HUGE_INT.search(text) is not None:
        return values.dumps(json.loads(text, parse_int=_int_or_infinity))
    # without a 309-digit number, no value is infinite or NaN (JSONB holds neither), so
    # values.dumps's walk to replace them has nothing to do: dump as it would (a list of
    # 1,000 runs reads 6,000 of these)
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _int_or_infinity(digits: str):
    if len(digits.lstrip("-")) < 309:
        return int(digits)
    return -math.inf if digits.startswith("-") else math.inf


def _register_json(raw) -> None:
    from psycopg.adapt import Loader

    class CanonicalJson(Loader):
        def load(self, data) -> str:
            return _canonical_json(bytes(data).decode("utf-8"))

    raw.adapters.register_loader("jsonb", CanonicalJson)


_open: dict[tuple[str, int], PgDatabase] = {}
_open_lock = threading.Lock()
_atexit: list = []


def database(url: str) -> PgDatabase:
    """The process's connection to the backend at ``url``, its schema checked once."""
    key = (url, os.getpid())
    with _open_lock:
        db = _open.get(key)
        if db is None or db.raw.closed:
            raw = connect(url)
            try:
                schema.check(raw)
                _register_json(raw)
            except BaseException:
                raw.close()
                raise
            if not _atexit:
                _atexit.append(atexit.register(forget_all))
            db = _open[key] = PgDatabase(raw, url)
        return db


def forget_all() -> None:
    """Close every connection of this process (at exit; tests between backends)."""
    with _open_lock:
        for db in _open.values():
            with contextlib.suppress(Exception):
                db.raw.close()
        _open.clear()


def _after_fork_in_child() -> None:
    # the child shares the parent's sockets: it must neither use them nor say goodbye on them
    for db in _open.values():
        detach_in_child(db.raw)
    _open.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
