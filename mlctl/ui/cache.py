"""Answers that cost a scan of every run (run counts, the experiment list), kept until
the runs index changes.

On SQLite the index is in WAL mode: every committed write changes the size or mtime of
``runs.sqlite-wal``, and a checkpoint changes ``runs.sqlite`` itself, so their stats are a
cheap version number. Paging through 100,000 filtered runs then counts them once.

On a team backend (PostgreSQL) other machines write, and nothing this process can look at
for free says that they did: an answer is kept for ``BACKEND_TTL_S`` seconds, so paging
through a result counts it once, and another client's new run shows within that time.
A version number kept by every write (a counter row, a trigger) would serialize the
writers of a busy backend on one row; the dashboard does not need it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 256
BACKEND_TTL_S = 5.0


def _stat(path) -> tuple:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class IndexCache:
    def __init__(self, repo, db_name: str = "runs"):
        from mlctl.store.backend.url import backend_url

        self.path = repo.db_path(db_name)
        self.on_backend = db_name == "runs" and backend_url(repo) is not None
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def version(self) -> tuple:
        if self.on_backend:
            return ("backend", int(time.monotonic() // BACKEND_TTL_S))
        return _stat(self.path) + _stat(f"{self.path}-wal")

    def get(self, key, compute):
        """``compute()``, or its last answer for ``key`` if the index has not changed since."""
        version = self.version()
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None and hit[0] == version:
                self.entries.move_to_end(key)
                return hit[1]
        value = compute()
        with self.lock:
            self.entries[key] = (version, value)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)
        return value
