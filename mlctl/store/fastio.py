"""Copying many small files with the fewest system calls.

Python's ``open()`` costs a handful of extra calls per file (an ``ioctl`` to ask whether
it is a terminal, ``lseek``s, a buffer object); for 20,000 files of 50 KB that overhead is
most of the work. These helpers use ``os.open``/``os.read``/``os.write`` directly for
files that fit in memory and fall back to streaming for big ones.
"""

from __future__ import annotations

import contextlib
import os
from typing import BinaryIO

from mlctl.errors import CorruptObjectError
from mlctl.store import hashing
from mlctl.store.statcache import FileStat

SMALL = 8 << 20  # read in one call up to this size
CHUNK = 4 << 20
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def write_new(path: str, data: bytes, perms: int = 0o666, stat: bool = False) -> FileStat | None:
    """Create ``path`` (which must not exist) holding ``data``; with ``stat``, returns its
    stat, taken from the open file (no second path lookup)."""
    fd = os.open(path, CREATE, perms)
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write (a signal, a full disk's last blocks)
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view):]
        st = os.fstat(fd) if stat else None
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    os.close(fd)
    return FileStat.of(st) if st else None


def read_all(fd: int, size: int) -> bytes:
    """Read a file whose size is known; one call in the common case. Reads one byte more
    than expected so a file that grew shows up as longer."""
    data = os.read(fd, size + 1)
    if len(data) >= size:
        return data
    parts = [data]
    while True:
        more = os.read(fd, CHUNK)
        if not more:
            return b"".join(parts)
        parts.append(more)


def copy_verified(src: str, dest: str, digest: str, perms: int = 0o666, small_only: bool = False,
                  size_hint: int = -1) -> FileStat | None:
    """Copy ``src`` to a new file ``dest``, hashing on the way; raise CorruptObjectError
    (leaving no ``dest``) when the bytes are not ``digest``. Returns the new file's stat.
    With ``small_only``, a source too big to verify before writing is left alone (returns
    None). ``size_hint`` (the size a manifest says) saves a stat call per file; a file of
    another size is then copied by its own."""
    fd = os.open(src, READ)
    try:
        if 0 <= size_hint <= SMALL:
            data = read_all(fd, size_hint)
            if len(data) == size_hint:
                return _write_verified(data, dest, digest, perms)
            os.lseek(fd, 0, os.SEEK_SET)
        return _copy_fd(fd, dest, digest, perms, small_only)
    finally:
        os.close(fd)


def _write_verified(data: bytes, dest: str, digest: str, perms: int) -> FileStat:
    check_digest(hashing.hash_bytes(data), digest)  # before the first byte lands
    return write_new(dest, data, perms, stat=True)


def _copy_fd(fd: int, dest: str, digest: str, perms: int, small_only: bool) -> FileStat | None:
    size = os.fstat(fd).st_size
    if size <= SMALL:
        return _write_verified(read_all(fd, size), dest, digest, perms)
    if small_only:
        return None
    with os.fdopen(os.dup(fd), "rb") as reader, open(os.open(dest, CREATE, perms), "wb", closefd=True) as out:
        try:
            stream_verified(reader, out, digest)
            out.flush()
            return FileStat.of(os.fstat(out.fileno()))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise


def check_digest(actual: str, digest: str) -> None:
    if actual != digest:
        raise CorruptObjectError(digest, actual)


def stream_verified(src: BinaryIO, out: BinaryIO, digest: str, chunk: int = 1 << 22) -> int:
    """Copy ``src`` to ``out`` while hashing; raise CorruptObjectError if it is not ``digest``."""
    actual, size = hashing.copy_hashed(src, out, chunk)
    check_digest(actual, digest)
    return size
