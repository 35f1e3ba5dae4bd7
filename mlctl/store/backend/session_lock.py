"""A lock held across machines: a PostgreSQL session advisory lock on a connection of its own.

What a file lock (flock) is on one machine, for a team on one backend: a second holder,
anywhere, is told at once, and the lock goes with its holder's process (the server drops
the session when the connection closes; after a SIGKILL, when it notices the closed
socket). The holder names itself in the connection's ``application_name`` (``pid N on
HOST``), which any client reads from ``pg_stat_activity`` to say who holds the lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Iterator

from mlctl.store.backend import advisory
from mlctl.store.backend.connection import connect

LABEL_PREFIX = "mlctl lock "


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (a namespace of its own)."""
    return advisory.lock_key(f"mlctl.session-lock {name}")


@contextlib.contextmanager
def held(url: str, name: str) -> Iterator[str | None]:
    """Try to take the lock ``name``: yields None when taken (held for the block), else the
    holder's label (``pid N on HOST``, or "" when it cannot be told)."""
    conn = connect(url)
    try:
        label = f"pid {os.getpid()} on {socket.gethostname()}"
        conn.execute("SELECT set_config('application_name', %s, false)", (LABEL_PREFIX + label,))
        key = lock_key(name)
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            yield _holder(conn, key)
            return
        try:
            yield None
        finally:
            # at once: closing alone releases the lock only when the server's backend
            # notices the closed socket, and a holder that took the lock again right
            # away was told it was busy, held by its own pid
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()  # the session ends: the lock with it, if the unlock could not run


def _holder(conn, key: int) -> str:
    row = conn.execute("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                       f"WHERE {advisory.HELD} AND {advisory.KEY} = %s", (key,)).fetchone()
    name = row[0] if row else ""
    return name[len(LABEL_PREFIX):] if name.startswith(LABEL_PREFIX) else ""
