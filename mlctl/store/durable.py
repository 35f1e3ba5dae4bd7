"""Durable installation of many files at once: write temps, fsync them in parallel, rename.

One fsync per small object, one after the other, costs a journal commit each (about 4 ms
on a typical disk: 80 s for 20,000 files). So a batch of objects is staged as temp files,
made durable together, and only then renamed into place, which keeps the store's rule (an
object is never renamed into place before its bytes are durable) at a small fraction of
the cost. "Together" is one syncfs(2) on Linux (the batch's files are all on the store's
filesystem), else fsyncs issued from many threads at once, which the kernel folds into a
few journal commits.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

from mlctl.store.atomic import fsync_dir

FSYNC_THREADS = 32
SYNCFS_FROM = 64  # files (or folders) in a batch from which one syncfs beats many fsyncs


def fsync_file(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _fsync_pool() -> ThreadPoolExecutor:
    """One pool for the whole process: creating 32 threads per batch costs more than the
    fsyncs of a batch of small files."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=FSYNC_THREADS, thread_name_prefix="fsync")
        return _pool


def fsync_all(paths: Iterable[str | os.PathLike]) -> None:
    """Make every file durable. Callers pass files of one filesystem (one store), so many
    files are flushed with a single syncfs(2) where Linux has it, else fsynced many at a
    time (fsync releases the GIL)."""
    paths = list(paths)
    if len(paths) >= SYNCFS_FROM and syncfs(os.path.dirname(os.fspath(paths[0]))):
        return
    if len(paths) <= 1:
        for path in paths:
            fsync_file(path)
        return
    list(_fsync_pool().map(fsync_file, paths, chunksize=1))


def fsync_dirs(dirs: Iterable[str | os.PathLike]) -> None:
    """Make renames in these folders (of one filesystem) durable."""
    dirs = sorted({os.fspath(d) for d in dirs})
    if len(dirs) >= SYNCFS_FROM and syncfs(dirs[0]):
        return
    if len(dirs) <= 1:
        for folder in dirs:
            fsync_dir(folder)
        return
    list(_fsync_pool().map(fsync_dir, dirs))


_libc = None


def syncfs(folder: str) -> bool:
    """syncfs(2) on the filesystem holding ``folder``: one call that flushes a whole batch.
    False where it does not exist (not Linux) or fails, so the caller fsyncs instead."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(_libc, "syncfs"):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return _libc.syncfs(fd) == 0  # since Linux 5.8 it reports writeback errors too
    finally:
        os.close(fd)


def install_all(pairs: list[tuple[str | Path, str | Path]], fsync: bool = True) -> int:
    """Move each staged temp onto its final name once every temp is durable.

    Temps must already have their final mode (objects are created 0444). A destination
    that already exists is kept (objects are written once) and its temp is dropped.
    Returns how many destinations were created.
    """
    if fsync:
        fsync_all(tmp for tmp, _ in pairs)
    created = 0
    parents = set()
    for tmp, dest in pairs:
        dest = os.fspath(dest)
        if os.path.exists(dest):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            continue
        parent = os.path.dirname(dest)
        try:
            os.replace(tmp, dest)
        except FileNotFoundError:  # a new shard folder: its own entry must be made durable too
            os.makedirs(parent, exist_ok=True)
            os.replace(tmp, dest)
            parents.add(os.path.dirname(parent))
        parents.add(parent)
        created += 1
    if fsync:
        fsync_dirs(parents)
    return created


def each_staged(stage, items) -> list:
    """``stage(item)`` for each item, each returning a staged temp (or None); if one
    fails, the temps staged so far are discarded and the error raised."""
    staged = []
    try:
        for item in items:
            staged.append(stage(item))
    except BaseException:
        discard(tmp for tmp in staged if tmp)
        raise
    return staged


def discard(paths: Iterable[str | os.PathLike]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
