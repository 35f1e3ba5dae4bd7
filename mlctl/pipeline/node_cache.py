"""The objects a Ray worker node keeps between stage tasks: its node cache.

Every task on a node pulls its deps by hash into a scratch repository. Without a cache, the
16 instances of a sweep over one 5 GB dataset would download it 16 times. So the scratch
repository's object store is a folder shared by the node's tasks (``<workdir>/mlctl-cache/
objects``): a dep already there is not pulled again, and the outputs a task stores are kept
for the next. Objects are content-addressed and verified when read (a damaged one is an
error, never used); concurrent tasks install them atomically (temp file, rename).

Size: a task touches what it uses; when it ends, the cache is trimmed to its limit (config
``pipeline.ray_cache``, 10GB by default, 0 for none), least recently used first, at most
every 30 s (a trim stats every object). Trimming needs the node's tasks out of the way, so
it takes the cache's lock exclusively without waiting (a task holds it shared while it uses
objects): while tasks keep running, the cache may stay above its limit until a task ends on
an idle node.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

FOLDER = "mlctl-cache"
DEFAULT_LIMIT = 10 * 1000**3
TRIM_EVERY = 30.0  # seconds between two trims of a node's cache


def folder(workdir: str | None) -> Path:
    import tempfile

    return Path(workdir or tempfile.gettempdir()) / FOLDER


@contextlib.contextmanager
def using(cache: Path):
    """Hold the node cache shared while a task uses its objects; yields its objects folder."""
    objects = cache / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    with open(cache / "lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield objects
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def touch(paths) -> None:
    """Mark objects as just used (their mtime is the cache's recency)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.utime(path)


def trim(cache: Path, limit: int, every: float = TRIM_EVERY) -> int:
    """Remove least recently used objects until the cache holds at most ``limit`` bytes,
    if no task is using it and it was not trimmed in the last ``every`` seconds (a scan
    stats every object); returns the bytes removed."""
    import time

    marker = cache / "trimmed"
    with contextlib.suppress(FileNotFoundError):
        if time.time() - marker.stat().st_mtime < every:
            return 0
    try:
        lock = open(cache / "lock", "a+b")
    except FileNotFoundError:
        return 0
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # a task is using it: the next one to end on an idle node trims
        marker.touch()
        entries = _entries(cache / "objects")
        total, removed = sum(size for _, size, _ in entries), 0
        for _mtime, size, path in sorted(entries):
            if total - removed <= limit:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed += size
        return removed


def _entries(objects: Path) -> list[tuple[float, int, str]]:
    out = []
    with contextlib.suppress(FileNotFoundError):
        for shard in os.scandir(objects):
            if not shard.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(shard.path):
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat(follow_symlinks=False)
                    out.append((st.st_mtime, st.st_size, entry.path))
    return out
