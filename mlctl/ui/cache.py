"""Answers that cost a scan of every run (run counts, the experiment list), kept until
the runs index changes.

The index is SQLite in WAL mode: every committed write changes the size or mtime of
``runs.sqlite-wal``, and a checkpoint changes ``runs.sqlite`` itself, so their stats are a
cheap version number. Paging through 100,000 filtered runs then counts them once.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

MAX_ENTRIES = 256


def _stat(path) -> tuple:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class IndexCache:
    def __init__(self, repo, db_name: str = "runs"):
        self.path = repo.db_path(db_name)
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def version(self) -> tuple:
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
