"""Putting many workspace files into the object store in one pass each, durably and fast.

Each file is read once: hashed and, unless the store already has that content, written to
a temp file in ``.mlctl/tmp/``. ``commit()`` then makes all staged temps durable at once
(parallel fsync, see durable.py) and renames them into place, so no object ever appears
before its bytes are on disk, and a crash leaves only temp files for ``gc``.

A file that changes while it is read (its size or mtime moves, or it yields a different
number of bytes than stat said) raises FileChangedError; what was staged for it is dropped.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store import hashing
from mlctl.store.atomic import temp_path_for
from mlctl.store.durable import discard, install_all

WHOLE_READ = 8 << 20  # files up to this size are read in one call
CHUNK = 4 << 20  # larger files stream through a buffer of this size (constant memory)


class FileChangedError(UsageError):
    def __init__(self, path: str):
        super().__init__(f"{path} changed while it was being hashed",
                         hint="wait until whatever writes it has finished, then run the command again")


class ObjectStager:
    """Hash files and stage the new ones; ``store=False`` only hashes."""

    def __init__(self, objects, store: bool = True):
        self.objects = objects
        self.store = store
        self._pending: dict[str, Path] = {}
        self._lock = threading.Lock()

    def hash_file(self, path: str, st: os.stat_result, display: str | None = None, on_bytes=None) -> str:
        """The content hash of ``path`` (whose stat was ``st``), staging it when new."""
        with open(path, "rb", buffering=0) as f:
            if st.st_size <= WHOLE_READ:
                data = f.read(st.st_size + 1)
                _check_unchanged(f, st, len(data), display or path)
                digest = hashing.hash_bytes(data)
                if self._wanted(digest):
                    self._stage_bytes(digest, data)
            else:
                digest = self._stream(f, st, display or path, on_bytes)
        if on_bytes and st.st_size <= WHOLE_READ:
            on_bytes(st.st_size)
        return digest

    def _wanted(self, digest: str) -> bool:
        if not self.store:
            return False
        with self._lock:
            if digest in self._pending:
                return False
        return not self.objects.exists(digest)

    def _stage_bytes(self, digest: str, data: bytes) -> None:
        tmp = self._temp()
        with open(tmp, "wb") as out:
            out.write(data)
        self._keep(digest, tmp)

    def _stream(self, f, st: os.stat_result, display: str, on_bytes) -> str:
        hasher = hashing.new_hasher()
        tmp = self._temp() if self.store else None
        out = open(tmp, "wb") if tmp else None
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        total = 0
        try:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                hasher.update(view[:n])
                if out:
                    out.write(view[:n])
                total += n
                if on_bytes:
                    on_bytes(n)
            _check_unchanged(f, st, total, display)
        except BaseException:
            if out:
                out.close()
                discard([tmp])
            raise
        digest = hasher.hexdigest()
        if out:
            out.close()
            if self._wanted(digest):
                self._keep(digest, tmp)
            else:
                discard([tmp])
        return digest

    def _keep(self, digest: str, tmp: Path) -> None:
        with self._lock:
            if digest in self._pending:
                discard([tmp])
            else:
                self._pending[digest] = tmp

    def _temp(self) -> Path:
        self.objects.tmp_dir.mkdir(parents=True, exist_ok=True)
        return temp_path_for(self.objects.tmp_dir / "object")

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[tuple[Path, Path]]:
        """Detach what is staged so far as (temp, final path) pairs for ``install_all``;
        lets the caller make one batch durable while the next is being read."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return [(tmp, self.objects.path(d)) for d, tmp in pending.items()]

    def commit(self) -> int:
        """Make every staged object durable, then move it into place; returns how many."""
        return install_all(self.take())

    def abort(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        discard(pending.values())

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.abort()


def _check_unchanged(f, before: os.stat_result, nread: int, display: str) -> None:
    after = os.fstat(f.fileno())
    if nread != before.st_size or after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns:
        raise FileChangedError(display)
