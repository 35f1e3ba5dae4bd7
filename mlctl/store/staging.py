"""Putting many workspace files into the object store in one pass each, durably and fast.

Each file is read once: hashed and, unless the store already has that content, written to
a temp file beside its final name (``objects/ab/.cdef….tmp-…``; big files, whose name is
known only at the end, stream into ``.mlctl/tmp/``). ``commit()`` then makes all staged temps durable at once
(parallel fsync, see durable.py) and renames them into place, so no object ever appears
before its bytes are on disk, and a crash leaves only temp files for ``gc``.

A file that changes while it is read (its size or mtime moves, or it yields a different
number of bytes than stat said) raises FileChangedError; what was staged for it is dropped.
"""

from __future__ import annotations

import os
import secrets
import threading

from mlctl.errors import UsageError
from mlctl.store import hashing
from mlctl.store import fastio
from mlctl.store.atomic import TEMP_MARKER
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
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._tmp_dir: str | None = None
        self._root = str(objects.root)
        self._shards: set[str] = set()

    def hash_file(self, path: str, st: os.stat_result, display: str | None = None, on_bytes=None) -> str:
        """The content hash of ``path`` (whose stat was ``st``), staging it when new."""
        if st.st_size > WHOLE_READ:
            with open(path, "rb", buffering=0) as f:
                return self._stream(f, st, display or path, on_bytes)
        fd = os.open(path, fastio.READ)  # raw calls: for 50 KB files Python's open() costs more than the read
        try:
            data = fastio.read_all(fd, st.st_size)
            _check_unchanged(fd, st, len(data), display or path)
        finally:
            os.close(fd)
        digest = hashing.hash_bytes(data)
        if self._wanted(digest):
            tmp = shard_temp(self._root, digest, self._shards)
            fastio.write_new(tmp, data, 0o444)  # born read-only, as objects are
            self._keep(digest, tmp)
        if on_bytes:
            on_bytes(st.st_size)
        return digest

    def _wanted(self, digest: str) -> bool:
        if not self.store:
            return False
        with self._lock:
            if digest in self._pending:
                return False
        return not os.path.isfile(f"{self._root}/{digest[:2]}/{digest[2:]}")

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
            _check_unchanged(f.fileno(), st, total, display)
        except BaseException:
            if out:
                out.close()
                discard([tmp])
            raise
        digest = hasher.hexdigest()
        if out:
            out.close()
            os.chmod(tmp, 0o444)  # objects are read-only; install_all expects the final mode
            if self._wanted(digest):
                self._keep(digest, tmp)
            else:
                discard([tmp])
        return digest

    def _keep(self, digest: str, tmp: str) -> None:
        with self._lock:
            if digest in self._pending:
                discard([tmp])
            else:
                self._pending[digest] = tmp

    def _temp(self) -> str:
        if self._tmp_dir is None:
            self.objects.tmp_dir.mkdir(parents=True, exist_ok=True)
            self._tmp_dir = str(self.objects.tmp_dir)
        return f"{self._tmp_dir}/.object{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(6)}"  # see atomic.py

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[tuple[str, str]]:
        """Detach what is staged so far as (temp, final path) pairs for ``install_all``;
        lets the caller make one batch durable while the next is being read."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return [(tmp, f"{self._root}/{d[:2]}/{d[2:]}") for d, tmp in pending.items()]

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


def shard_temp(objects_root: str, digest: str, made: set[str]) -> str:
    """A temp path in the object's own shard folder, ``objects/ab/.cdef….tmp-<pid>-<rand>``:
    the rename into place stays within one folder, and parallel writers spread over 256
    folders instead of queueing on one (names with a dot never count as objects)."""
    shard = f"{objects_root}/{digest[:2]}"
    if shard not in made:  # ``made``: shard folders this writer already ensured (set.add is atomic)
        os.makedirs(shard, exist_ok=True)
        made.add(shard)
    return f"{shard}/.{digest[2:]}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}"


def _check_unchanged(fd: int, before: os.stat_result, nread: int, display: str) -> None:
    after = os.fstat(fd)
    if nread != before.st_size or after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns:
        raise FileChangedError(display)
