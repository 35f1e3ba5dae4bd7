"""Hashing tracked paths as `data add` records them, with the stat cache and in parallel.

``TreeHasher(repo, store=True)`` is the one place a workspace file or folder becomes a
hash: add, status, diff and the pipeline's dependency fingerprints all go through it, so
they agree. Unchanged files (per the stat cache) are never read; the rest are read once,
on ``jobs`` workers (processes for many files, threads for few: store/workers.py), and
with ``store`` their new content is staged and committed to the object store in durable
batches.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat as stat_mod
import time

from mlctl.data.needs import missing_objects
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import FOLLOW, WorkFile, list_files
from mlctl.errors import NotFoundError, UsageError
from mlctl.store import hashing, tree
from mlctl.store.durable import discard, install_all
from mlctl.store.staging import ObjectStager, stage_files
from mlctl.store.statcache import FileStat, fingerprint, open_stat_cache, trusted
from mlctl.store.workers import FilePool, Pipeline, wants_processes

BATCH_FILES = 1000  # files hashed, then made durable together (while the next batch is read)
BATCH_BYTES = 128 << 20
MIB = 1 << 20
TASK = 32  # files per thread task


@contextlib.contextmanager
def null_progress(description: str, total: int | None = None):
    class _Null:
        def advance(self, n: float = 1) -> None:
            pass

    yield _Null()


def default_jobs(repo) -> int:
    value = repo.config.get("core.jobs")
    return int(value) if value else (os.cpu_count() or 2)


class TreeHasher:
    def __init__(self, repo, store: bool = True, jobs: int | None = None, progress=None, links=FOLLOW):
        self.repo = repo
        self.links = links  # what folder listings do with symlinks that leave (workspace.LinkPolicy)
        self.store = store
        self.jobs = jobs or default_jobs(repo)
        self.progress = progress or null_progress
        self.cache = open_stat_cache(repo)
        self.stager = ObjectStager(repo.objects.root, repo.objects.tmp_dir, store=store)

    def close(self) -> None:
        self.stager.abort()
        self.cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one tracked path -------------------------------------------------------------------
    def hash_path(self, rel: str) -> tuple[Pointer, list[tree.Entry] | None]:
        """(pointer, manifest entries or None for a file) for workspace path ``rel``."""
        path = str(self.repo.workspace_path(rel))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFoundError(f"{rel} does not exist") from None
        if stat_mod.S_ISREG(st.st_mode):
            [digest] = self.hash_files(rel, [WorkFile("", path, st)], key_of=lambda f: rel)
            return Pointer(rel, digest, st.st_size, 1, "file"), None
        if not stat_mod.S_ISDIR(st.st_mode):
            raise UsageError(f"{rel} is not a regular file or folder")
        started = time.time_ns()
        files = list_files(path, rel, self.links)
        hashes = self.hash_files(rel, files)
        entries = [tree.Entry(f.rel, h, entry_size(f), tree.entry_mode(f)) for f, h in zip(files, hashes)]
        data = tree.encode(entries)
        digest = self.repo.objects.put_bytes(data) if self.store else hashing.hash_bytes(data)
        self.cache.record_folder(rel, fingerprint(((f.rel, f.st) for f in files), started), digest)
        return Pointer(rel, digest, sum(e.size for e in entries), len(entries), "dir"), entries

    # -- many files ---------------------------------------------------------------------------
    def hash_files(self, prefix: str, files: list[WorkFile], key_of=None) -> list[str]:
        """Hashes of ``files`` (in order); cache keys are ``prefix/rel`` unless ``key_of``.
        A recorded link's hash is its target text's (stored as an object, as git does)."""
        if any(_special(f) for f in files):
            return self._hash_with_links(prefix, files, key_of)
        key_of = key_of or (lambda f: f"{prefix}/{f.rel}")
        keys = [key_of(f) for f in files]
        rows = self.cache.rows_under(prefix)
        get = rows.get
        hashes: list[str | None] = [trusted(get(key), f.st) for key, f in zip(keys, files)]
        if self.store:  # a cached hash only counts if the store still has the object
            absent = set(missing_objects(self.repo.objects, [h for h in hashes if h]))
            hashes = [None if h in absent else h for h in hashes]
        misses = [i for i, h in enumerate(hashes) if h is None]
        if misses:
            self._hash_misses(prefix, files, misses, hashes, key_of)
        live = set(keys)
        self.cache.forget(k for k in rows if k not in live)
        return hashes  # type: ignore[return-value]

    def _hash_with_links(self, prefix: str, files: list[WorkFile], key_of) -> list[str]:
        """Regular files as usual; a link's or an empty folder's hash is that of its object
        (the target text, or nothing), stored as an object when storing."""
        regular = [f for f in files if not _special(f)]
        found = iter(self.hash_files(prefix, regular, key_of))
        out = []
        for f in files:
            if not _special(f):
                out.append(next(found))
            else:
                data = f.target.encode() if f.target is not None else b""
                out.append(self.repo.objects.put_bytes(data) if self.store else hashing.hash_bytes(data))
        return out

    def _hash_misses(self, prefix, files, misses, hashes, key_of) -> None:
        """Read the files the stat cache can't vouch for. As results come in they are
        gathered into batches; while one batch's objects are made durable and renamed into
        place (mostly waiting on the disk), the workers go on reading. Many files are read
        by worker processes (see store/workers.py), few on threads."""
        started = time.time_ns()
        total_mib = sum(files[i].st.st_size for i in misses) / MIB
        label = f"hashing {prefix} (MiB)" if total_mib >= 1 else f"hashing {prefix}"
        processes = wants_processes(self.jobs, len(misses))
        with FilePool(self.jobs, processes) as pool, \
                self.progress(label, total=max(1, round(total_mib))) as bar, \
                Pipeline() as committer:
            on_bytes = None if processes else (lambda n: bar.advance(n / MIB))
            task = functools.partial(stage_files, self.stager.objects_root, self.stager.tmp_dir,
                                     self.store, on_bytes=on_bytes)
            chunks = [misses[k:k + TASK] for k in range(0, len(misses), TASK)]
            batch = _Batch(self.stager, committer, lambda rows: self.cache.record(rows, started))
            arrivals = iter(chunks)

            def arrived(staged: list) -> None:
                for i, (digest, tmp, size) in zip(next(arrivals), staged):
                    hashes[i] = digest
                    if tmp:
                        self.stager.adopt(digest, tmp)
                    batch.add((key_of(files[i]), files[i].st, digest), size)
                if processes:
                    bar.advance(sum(size for _, _, size in staged) / MIB)

            items = [[(files[i].path, FileStat.of(files[i].st), _display(prefix, files[i])) for i in chunk]
                     for chunk in chunks]
            pool.map_all(task, items, drop=_drop_staged, done=arrived)
            batch.flush()


class _Batch:
    """Hashed files gathered until a batch is full; then its staged objects are committed
    (made durable, renamed into place) and only then its stat-cache rows recorded, on the
    committer, one batch at a time."""

    def __init__(self, stager, committer, record):
        self.stager, self.committer, self.record = stager, committer, record
        self.rows: list = []
        self.bytes = 0

    def add(self, row, size: int) -> None:
        self.rows.append(row)
        self.bytes += size
        if len(self.rows) >= BATCH_FILES or self.bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            rows, self.rows, self.bytes = self.rows, [], 0
            self.committer.submit(self._commit, self.stager.take(), rows)

    def _commit(self, staged, rows) -> None:
        install_all(staged)
        self.record(rows)


def _special(f: WorkFile) -> bool:
    """A recorded link or an empty folder: not read as a file."""
    return f.target is not None or stat_mod.S_ISDIR(f.st.st_mode)


def entry_size(f: WorkFile) -> int:
    """The size a manifest records: bytes of a file or of a link's target, 0 for a folder."""
    if f.target is not None:
        return len(f.target.encode())
    return 0 if stat_mod.S_ISDIR(f.st.st_mode) else f.st.st_size


def _drop_staged(staged: list) -> None:
    discard(tmp for _, tmp, _ in staged if tmp)


def _display(prefix: str, f: WorkFile) -> str:
    return f"{prefix}/{f.rel}" if f.rel else prefix
