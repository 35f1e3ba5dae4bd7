"""Inter-process locks on ``.mlctl/locks/<name>.lock`` (flock), with a timeout.

flock locks die with their process, so a killed holder never leaves a stale lock. The
lock file carries the holder's pid and host for the timeout message.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from mlctl.errors import LockTimeoutError

DEFAULT_TIMEOUT = 60.0


def default_timeout() -> float:
    value = os.environ.get("MLCTL_LOCK_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


class FileLock:
    """An exclusive lock; re-entrant within one FileLock object only."""

    def __init__(self, path: str | os.PathLike, timeout: float | None = None, what: str | None = None):
        self.path = Path(path)
        self.timeout = default_timeout() if timeout is None else timeout
        self.what = what or self.path.stem
        self._fd: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        if self._fd is not None:
            self._depth += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockTimeoutError(
                        f"{self.what} is locked by another process{holder}",
                        hint="wait for it to finish, or raise MLCTL_LOCK_TIMEOUT (seconds)",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        _write_holder(fd)
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def try_acquire(self) -> bool:
        """Take the lock if it is free right now; never waits."""
        saved, self.timeout = self.timeout, 0.0
        try:
            self.acquire()
            return True
        except LockTimeoutError:
            return False
        finally:
            self.timeout = saved

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _write_holder(fd: int) -> None:
    try:
        data = f"{os.getpid()} {socket.gethostname()}\n".encode()
        os.pwrite(fd, data, 0)  # then cut what a longer previous name left: never empty between
        os.ftruncate(fd, len(data))
    except OSError:
        pass


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").split()
    except OSError:
        return ""
    return f" (pid {text[0]} on {text[1]})" if len(text) >= 2 else ""
