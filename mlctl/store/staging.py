"""Putting many workspace files into the object store in one pass each, durably and fast.

Each file is read once: hashed and, unless the store already has that content, written to
a temp file beside its final name (``objects/ab/.cdef….tmp-…``; big files, whose name is
known only at the end, stream into ``.mlctl/tmp/``). ``commit()`` then makes all staged temps durable at once
(parallel fsync, see durable.py) and renames them into place, so no object ever appears
before its bytes are on disk, and a crash leaves only temp files for ``gc``.

A file that changes while it is read (its size or mtime moves, or it yields a different
number of bytes than stat said) raises FileChangedError; what was staged for it is dropped.

``stage_files`` is the same work as a task for a worker process or thread (see
workers.py): it returns each file's hash with the temp it staged, and the caller adopts
the temps into its own stager to commit them.
"""

from __future__ import annotations

import os
import threading

from mlctl.errors import UsageError
from mlctl.store import hashing
from mlctl.store import fastio
from mlctl.store.atomic import TEMP_MARKER, temp_name
from mlctl.store.durable import discard, install_all
from mlctl.store.statcache import FileStat

WHOLE_READ = 8 << 20  # files up to this size are read in one call
CHUNK = 4 << 20  # larger files stream through a buffer of this size (constant memory)


class FileChangedError(UsageError):
    def __init__(self, path: str):
        super().__init__(f"{path} changed while it was being hashed",
                         hint="wait until whatever writes it has finished, then run the command again")


class ObjectStager:
    """Hash files and stage the new ones; ``store=False`` only hashes."""

    def __init__(self, objects_root: str | os.PathLike, tmp_dir: str | os.PathLike, store: bool = True):
        self.store = store
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._root = os.fspath(objects_root)
        self._tmp_dir = os.fspath(tmp_dir)
        self._tmp_made = False

    def hash_file(self, path: str, st: os.stat_result | FileStat, display: str | None = None, on_bytes=None) -> str:
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
        if self._wanted(digest):  # born read-only, as objects are
            self._keep(digest, write_in_shard(self._root, digest, lambda tmp: fastio.write_new(tmp, data, 0o444)))
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

    def _stream(self, f, st: os.stat_result | FileStat, display: str, on_bytes) -> str:
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

    def adopt(self, digest: str, tmp: str) -> None:
        """Take over a temp another worker staged for ``digest`` (dropped if one is already
        pending)."""
        self._keep(digest, tmp)

    def _keep(self, digest: str, tmp: str) -> None:
        with self._lock:
            if digest in self._pending:
                discard([tmp])
            else:
                self._pending[digest] = tmp

    def _temp(self) -> str:
        if not self._tmp_made:
            os.makedirs(self._tmp_dir, exist_ok=True)
            self._tmp_made = True
        return f"{self._tmp_dir}/.object{TEMP_MARKER}{os.getpid()}-{os.urandom(6).hex()}"  # see atomic.py

    @property
    def objects_root(self) -> str:
        return self._root

    @property
    def tmp_dir(self) -> str:
        return self._tmp_dir

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[tuple[str, str]]:
        """Detach what is staged so far as (temp, final path) pairs for ``install_all``;
        lets the caller make one batch durable while the next is being read."""
        return [(tmp, f"{self._root}/{d[:2]}/{d[2:]}") for tmp, d in self.take_digests()]

    def take_digests(self) -> list[tuple[str, str]]:
        """Like ``take`` but (temp, digest) pairs."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return [(tmp, digest) for digest, tmp in pending.items()]

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


def stage_files(objects_root: str, tmp_dir: str, store: bool, items: list, on_bytes=None) -> list:
    """A worker's task: hash ``items`` ((path, stat, display) each) and stage new content.
    Returns (digest, temp or None, size) per item; the caller adopts the temps. On an
    error the task's temps are dropped and the error raised."""
    stager = ObjectStager(objects_root, tmp_dir, store)
    try:
        digests = [stager.hash_file(path, st, display, on_bytes) for path, st, display in items]
    except BaseException:
        stager.abort()
        raise
    staged = {digest: tmp for tmp, digest in stager.take_digests()}
    return [(digest, staged.pop(digest, None), st.st_size) for digest, (_, st, _) in zip(digests, items)]


def write_in_shard(objects_root: str, digest: str, write) -> str:
    """Create a temp for ``digest`` in its shard folder with ``write(temp)``, making the
    folder only when it is missing (no mkdir call per file, and no cache of made folders
    to go stale); returns the temp's path."""
    tmp = temp_name(f"{objects_root}/{digest[:2]}", digest[2:])
    try:
        write(tmp)
    except FileNotFoundError as exc:
        if exc.filename != tmp:
            raise
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        write(tmp)
    return tmp


def shard_temp(objects_root: str, digest: str, made: set[str]) -> str:
    """A temp path in the object's own shard folder, ``objects/ab/.cdef….tmp-<pid>-<rand>``:
    the rename into place stays within one folder, and parallel writers spread over 256
    folders instead of queueing on one (names with a dot never count as objects)."""
    shard = f"{objects_root}/{digest[:2]}"
    if shard not in made:  # ``made``: shard folders this writer already ensured (set.add is atomic)
        os.makedirs(shard, exist_ok=True)
        made.add(shard)
    return temp_name(shard, digest[2:])


def _check_unchanged(fd: int, before: os.stat_result | FileStat, nread: int, display: str) -> None:
    after = os.fstat(fd)
    if nread != before.st_size or after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns:
        raise FileChangedError(display)
