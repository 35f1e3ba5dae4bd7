"""The stat cache: (path, inode, mtime, size) -> content hash, so an unchanged file is never
read twice.

It lives in ``.mlctl/cache/stat.sqlite`` (WAL; rebuildable, never tracked) and is keyed by
workspace-relative path. An entry is trusted only when the file's inode, mtime (ns) and
size all match *and* the file's mtime is safely older than the moment the entry was
recorded: a file rewritten within the filesystem's timestamp granularity of being hashed
could otherwise keep its old stat and hide the change (git's "racy" entries). Such entries
are simply re-hashed once, after which they are trusted.

A second table remembers whole folders: a fingerprint of the folder's listing (every
file's path, inode, mtime and size) -> the folder's hash, so `data status` on an
unchanged 20,000-file folder costs the listing's stat calls and one row. A third
remembers that every object of a manifest was in the store when the object folders had
a given fingerprint (see data/needs.py), so that check costs 256 stats, not a listing.

``NullStatCache`` is the no-op twin (``data.stat_cache: false``): every lookup misses.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Iterable, NamedTuple

from mlctl.store.sqlite import connect, connect_readonly, is_damage, is_unwritable

RACY_NS = 50_000_000  # 50 ms: far above the kernel's coarse clock tick (1-10 ms)
RACY_COARSE_NS = 2_000_000_000  # filesystems with whole-second (or 2 s) timestamps

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    hash TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS complete (
    manifest TEXT PRIMARY KEY,
    store_fingerprint TEXT NOT NULL
) WITHOUT ROWID;
"""

Row = tuple  # (inode, mtime_ns, size, hash, recorded_ns)


class FileStat(NamedTuple):
    """The part of a stat the cache keys on, under ``os.stat_result``'s names: what worker
    processes send and return instead of a full stat (which pickles twenty times slower,
    a tenth of a 20,000-file checkout)."""

    st_ino: int
    st_mtime_ns: int
    st_size: int

    @classmethod
    def of(cls, st: os.stat_result) -> "FileStat":
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


def trusted(row: Row | None, st: os.stat_result | FileStat) -> str | None:
    """The cached hash if ``row`` still describes the file ``st``, else None."""
    if row is None or row[0] != st.st_ino or row[1] != st.st_mtime_ns or row[2] != st.st_size:
        return None  # (field by field: no tuple per file, this runs 20,000 times a status)
    window = RACY_COARSE_NS if st.st_mtime_ns % 1_000_000_000 == 0 else RACY_NS
    if st.st_mtime_ns >= row[4] - window:
        return None
    return row[3]


def fingerprint(items: Iterable[tuple[str, os.stat_result]], now_ns: int | None = None) -> str | None:
    """One hash over a folder listing's (path, inode, mtime, size); None when any file is
    too recent to trust (see ``trusted``), so racy folders are never remembered whole."""
    items = list(items)
    parts = [listing_part(rel, st) for rel, st in items]
    newest = max((st.st_mtime_ns for _, st in items), default=0)
    coarse = all(st.st_mtime_ns % 1_000_000_000 == 0 for _, st in items[:64])
    return fingerprint_of(parts, newest, coarse, now_ns)


def listing_part(rel: str, st: os.stat_result) -> str:
    return f"{rel}\x1f{st.st_ino}\x1f{st.st_mtime_ns}\x1f{st.st_size}"


def fingerprint_of(parts: list[str], newest_ns: int, coarse: bool, now_ns: int | None = None) -> str | None:
    """The fingerprint of listing parts (in any order); None if the newest mtime is racy."""
    from mlctl.store.hashing import hash_bytes

    now = now_ns if now_ns is not None else time.time_ns()
    if parts and newest_ns >= now - (RACY_COARSE_NS if coarse else RACY_NS):
        return None
    parts.sort()
    return hash_bytes("\x1e".join(parts).encode("utf-8", "surrogateescape"))


class StatCache:
    """The cache, which never stops a command: a damaged file is deleted and rebuilt
    (said once on stderr), and where the disk is full or read-only the cache is read
    without writing (or not at all), so read-only commands still work."""

    def __init__(self, path: str | os.PathLike, timeout: float = 60.0):
        self.path = Path(path)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._readonly = False  # the disk refused a write: read what is there, write nothing
        self._off = False  # not even readable: every lookup misses

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._readonly:
                self._conn = connect_readonly(self.path, timeout=self.timeout)
            else:
                conn = connect(self.path, timeout=self.timeout)
                try:
                    conn.executescript(SCHEMA)
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
        return self._conn

    def _run(self, op, default=None, write: bool = False):
        """``op(connection)`` under the lock, with the failure rules above."""
        with self._lock:
            for _attempt in range(3):
                if self._off or (write and self._readonly):
                    return default
                try:
                    return op(self._db())
                except sqlite3.DatabaseError as exc:
                    self._close()
                    if is_damage(exc) and not self._readonly:
                        self._rebuild(exc)
                    elif is_unwritable(exc) or is_damage(exc):
                        self._degrade(exc)
                    else:
                        raise
            return default

    def _rebuild(self, exc: BaseException) -> None:
        _remove_sqlite(self.path)  # a cache: nothing in it is worth a post-mortem
        _say_once(f"the stat cache {self.path} was damaged ({exc}); started a new one "
                  f"(the next status hashes files again)")

    def _degrade(self, exc: BaseException) -> None:
        if self._readonly:
            self._off = True
        self._readonly = True
        _say_once(f"cannot write the stat cache {self.path} ({exc}); going on without saving hashes")

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def rows_under(self, prefix: str) -> dict[str, Row]:
        """Every entry for ``prefix`` itself or below it (a folder's files, in one query)."""
        def op(db):
            cur = db.execute(
                "SELECT path, inode, mtime_ns, size, hash, recorded_ns FROM files "
                "WHERE path = ? OR (path >= ? AND path < ?)", (prefix, prefix + "/", prefix + "0"))
            return {r[0]: r[1:] for r in cur}
        return self._run(op, {})

    def get(self, path: str, st: os.stat_result) -> str | None:
        row = self._run(lambda db: db.execute(
            "SELECT inode, mtime_ns, size, hash, recorded_ns FROM files WHERE path = ?", (path,)).fetchone())
        return trusted(row, st)

    def record(self, entries: Iterable[tuple[str, os.stat_result | FileStat, str]], recorded_ns: int | None = None) -> None:
        """Remember each (path, stat, hash); ``recorded_ns`` is when hashing started."""
        now = recorded_ns if recorded_ns is not None else time.time_ns()
        rows = [(p, st.st_ino, st.st_mtime_ns, st.st_size, h, now) for p, st, h in entries]
        if rows:
            self._run(lambda db: _in_transaction(
                db, lambda: db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)),
                write=True)

    def forget(self, paths: Iterable[str]) -> None:
        paths = [(p,) for p in paths]
        if paths:
            self._run(lambda db: db.executemany("DELETE FROM files WHERE path = ?", paths), write=True)

    # -- whole folders: one row answers "unchanged" for 20,000 files --------------------------
    def folder_hash(self, path: str, fingerprint: str | None) -> str | None:
        """The folder hash recorded for exactly this listing fingerprint, if any."""
        if fingerprint is None:
            return None
        row = self._run(lambda db: db.execute("SELECT fingerprint, hash FROM folders WHERE path = ?",
                                              (path,)).fetchone())
        return row[1] if row and row[0] == fingerprint else None

    def record_folder(self, path: str, fingerprint: str | None, digest: str) -> None:
        if fingerprint is not None:
            self._run(lambda db: db.execute("INSERT OR REPLACE INTO folders VALUES (?, ?, ?)",
                                            (path, fingerprint, digest)), write=True)

    def close(self) -> None:
        with self._lock:
            self._close()

    # -- a manifest whose objects were all present, while the store looked like this -------
    def complete(self, manifest: str, store_fingerprint: str | None) -> bool:
        if store_fingerprint is None:
            return False
        row = self._run(lambda db: db.execute("SELECT store_fingerprint FROM complete WHERE manifest = ?",
                                              (manifest,)).fetchone())
        return bool(row) and row[0] == store_fingerprint

    def record_complete(self, manifest: str, store_fingerprint: str | None) -> None:
        if store_fingerprint is not None:
            self._run(lambda db: db.execute("INSERT OR REPLACE INTO complete VALUES (?, ?)",
                                            (manifest, store_fingerprint)), write=True)


def _in_transaction(db: sqlite3.Connection, statements) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        statements()
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


_said: set[str] = set()


def _say_once(message: str) -> None:
    """A warning on stderr, once per process (a long status must not repeat it per file)."""
    if message not in _said:
        _said.add(message)
        sys.stderr.write(f"mlctl: warning: {message}\n")


class NullStatCache:
    """The no-op twin: remembers nothing, so every file is hashed."""

    def rows_under(self, prefix: str) -> dict[str, Row]:
        return {}

    def get(self, path: str, st: os.stat_result) -> str | None:
        return None

    def record(self, entries, recorded_ns: int | None = None) -> None:
        for _ in entries:
            pass

    def forget(self, paths) -> None:
        pass

    def folder_hash(self, path: str, fingerprint: str | None) -> str | None:
        return None

    def record_folder(self, path: str, fingerprint: str | None, digest: str) -> None:
        pass

    def complete(self, manifest: str, store_fingerprint: str | None) -> bool:
        return False

    def record_complete(self, manifest: str, store_fingerprint: str | None) -> None:
        pass

    def close(self) -> None:
        pass


def open_stat_cache(repo) -> StatCache | NullStatCache:
    if repo.config.get("data.stat_cache", True) is False:
        return NullStatCache()
    return StatCache(repo.cache_dir / "stat.sqlite", timeout=repo.lock_timeout())
