"""Atomic file replacement: write a temp file in the destination's folder, fsync, rename.

A reader sees either the old file or the new one, never a torn one. A process killed
mid-write leaves at most a temp file named ``.<name>.tmp-<pid>-<rand>``, which
``mlctl gc`` removes once its writer is gone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TEMP_MARKER = ".tmp-"


def temp_path_for(path: Path) -> Path:
    """A unique temp path beside ``path`` that names the writing process."""
    return Path(temp_name(str(path.parent), path.name))


def temp_name(folder: str, name: str) -> str:
    """``folder/.name.tmp-<pid>-<rand>`` as a string (hot paths build thousands; the
    random part comes from ``os.urandom``, as ``secrets`` would, without its 7 ms import)."""
    return f"{folder}/.{name}{TEMP_MARKER}{os.getpid()}-{os.urandom(4).hex()}"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def temp_owner_pid(name: str) -> int | None:
    """The pid encoded in a temp file name, or None when the name is not ours."""
    try:
        return int(name.rsplit(TEMP_MARKER, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (e.g. the writer named in a temp file)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_writers_temp(name: str) -> bool:
    """A temp file whose writer is gone (killed mid-write): garbage, safe to remove."""
    pid = temp_owner_pid(name) if is_temp_name(name) else None
    return pid is not None and not process_alive(pid)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb", fsync: bool = True):
    """Yield a file object; on clean exit it atomically replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    encoding = None if "b" in mode else "utf-8"
    f = open(tmp, mode, encoding=encoding)
    try:
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())
        f.close()
        os.replace(tmp, path)
        if fsync:
            fsync_dir(path.parent)
    except BaseException:
        f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = True) -> None:
    with atomic_writer(path, "wb", fsync=fsync) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)
