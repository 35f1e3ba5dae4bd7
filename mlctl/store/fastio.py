"""Copying many small files with the fewest system calls.

Python's ``open()`` costs a handful of extra calls per file (an ``ioctl`` to ask whether
it is a terminal, ``lseek``s, a buffer object); for 20,000 files of 50 KB that overhead is
most of the work. These helpers use ``os.open``/``os.read``/``os.write`` directly for
files that fit in memory and fall back to streaming for big ones.
"""

from __future__ import annotations

import contextlib
import os

from mlctl.store import hashing

SMALL = 8 << 20  # read in one call up to this size
CHUNK = 4 << 20
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def write_new(path: str, data: bytes, perms: int = 0o666) -> None:
    """Create ``path`` (which must not exist) holding ``data``."""
    fd = os.open(path, CREATE, perms)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    os.close(fd)


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


def copy_verified(src: str, dest: str, digest: str, perms: int = 0o666, small_only: bool = False) -> int:
    """Copy ``src`` to a new file ``dest``, hashing on the way; raise CorruptObjectError
    (leaving no ``dest``) when the bytes are not ``digest``. Returns the size. With
    ``small_only``, a source too big to verify before writing is left alone (returns -1)."""
    from mlctl.store.remote_fs import check_digest, copy_verified as stream_verified

    fd = os.open(src, READ)
    try:
        size = os.fstat(fd).st_size
        if size > SMALL and small_only:
            return -1
        if size <= SMALL:
            data = read_all(fd, size)
            check_digest(hashing.hash_bytes(data), digest)
            write_new(dest, data, perms)
            return len(data)
        with os.fdopen(os.dup(fd), "rb") as reader, open(os.open(dest, CREATE, perms), "wb", closefd=True) as out:
            try:
                return stream_verified(reader, out, digest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dest)
                raise
    finally:
        os.close(fd)
