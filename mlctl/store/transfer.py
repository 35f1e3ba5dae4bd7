"""Sync objects (and small files) between the local store and a remote.

The remote mirrors the local layout: ``<root>/objects/ab/cdef...``. Transfers move only
what the other side lacks, run in parallel, verify every object's hash (before it leaves,
and on arrival before it enters the local store), and are resumable: an object appears on
either side only once it is complete, so a rerun after an interruption moves just the rest.

    remote = RemoteStore.open(repo, "origin")        # None: the default remote
    remote.push(digests)                              # -> how many were uploaded
    remote.pull(digests)                              # -> how many were downloaded
    remote.put_file_bytes("runs/01H.../run.json", b"...")
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Callable, Iterable

from mlctl.errors import CorruptObjectError, MlctlError, ObjectMissingError, StoreDamageError, UsageError
from mlctl.store.durable import discard, each_staged, install_all
from mlctl.store.hashing import is_hash
from mlctl.store.remote_fs import LocalBackend, copy_objects
from mlctl.store.remote_open import open_backend
from mlctl.store.repo import Repo
from mlctl.store.staging import shard_temp
from mlctl.store.workers import FilePool, Pipeline, wants_processes

BATCH = 512  # objects made durable (parallel fsync) and renamed together
TASK = 16  # objects per thread task
FEW = 64  # up to this many digests, ask per object instead of listing the remote
STALE_TEMP_AGE = 86400.0  # a push removes temps this old in the shards it writes


class RemoteError(MlctlError):
    """The remote is unreachable, refuses us, or lacks what we need (exit 2)."""


class RemoteMissingError(RemoteError):
    """Raised after everything else was transferred; ``done`` counts what was."""

    def __init__(self, remote: str, digests: list[str], done: int = 0, what: str = ""):
        count = f"{len(digests)} objects" if len(digests) > 1 else "1 object"
        super().__init__(
            f"remote {remote} lacks {count}{what}, e.g. {digests[0]}",
            hint="push them from a machine that has them (`mlctl data push`)",
        )
        self.remote = remote
        self.digests = digests
        self.done = done


def object_relpath(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


class RemoteStore:
    def __init__(self, repo: Repo, name: str, backend, jobs: int):
        self.repo = repo
        self.name = name
        self.backend = backend
        self.jobs = jobs
        self._shards: set[str] = set()
        self._objects = str(repo.objects.root)

    @classmethod
    def open(cls, repo: Repo, remote_name: str | None = None) -> "RemoteStore":
        from mlctl.store.remotes import get_remote

        remote = get_remote(repo, remote_name)
        with remote_errors(remote.name, remote.url):
            backend = open_backend(repo, remote)
        return cls(repo, remote.name, backend, default_jobs(repo, remote.name))

    def __repr__(self) -> str:
        return f"RemoteStore({self.name!r}, {self.backend.url!r})"

    # -- objects --------------------------------------------------------------------------
    def missing(self, digests: Iterable[str]) -> set[str]:
        """The digests the remote does not have."""
        wanted = _checked(digests)
        if not wanted:
            return set()
        with remote_errors(self.name, self.backend.url):
            if len(wanted) <= FEW:
                with ThreadPoolExecutor(max_workers=min(self.jobs, len(wanted))) as pool:
                    flags = dict(zip(wanted, pool.map(lambda d: self.backend.exists(object_relpath(d)), wanted)))
                return {d for d, present in flags.items() if not present}
            shards = {d[:2] for d in wanted}
            present = self.backend.list_objects(shards if len(shards) < 16 else None)
        return wanted - present

    def push(self, digests: Iterable[str], jobs: int | None = None, progress=None) -> int:
        """Upload the objects the remote lacks; returns how many were uploaded."""
        wanted = _checked(digests)
        absent = sorted(d for d in wanted if not os.path.isfile(self._local(d)))
        if absent:
            raise ObjectMissingError(absent[0], what=f"object to push ({len(absent)} missing)")
        with remote_errors(self.name, self.backend.url):
            self.backend.check(create=True)
            todo = _spread(self.missing(wanted))
            advance = _advancer(progress)

            def commit(batch, staged) -> None:
                self.backend.commit([(tmp, object_relpath(d)) for d, tmp in zip(batch, staged)])
                advance(len(batch))

            # batch k is made durable while batch k+1 copies; the workers outlive the commits
            with self._workers(jobs, len(todo)) as pool, Pipeline() as pipeline:
                for batch in _chunks(todo, BATCH):
                    pipeline.submit(commit, batch, self._copy(pool, batch, upload=True))
            self._sweep_temps({d[:2] for d in todo})
        return len(todo)

    def _sweep_temps(self, shards: set[str]) -> None:
        """Remove what killed pushes left in the shards this push wrote: temps untouched
        for STALE_TEMP_AGE (a live writer's temp grows as it is written, so stays fresh).
        Folder remotes only; object stores publish whole objects and leave none."""
        sweep = getattr(self.backend, "remove_stale_temps", None)
        if sweep and shards:
            sweep(shards, time.time() - STALE_TEMP_AGE)

    def pull(self, digests: Iterable[str], jobs: int | None = None, progress=None) -> int:
        """Download the objects the local store lacks, each verified before it lands;
        returns how many arrived. Raises RemoteMissingError after fetching the rest."""
        todo = _spread(d for d in _checked(digests) if not os.path.isfile(self._local(d)))
        if not todo:
            return 0
        advance = _advancer(progress)
        lacking: list[str] = []
        counts = []

        def commit(batch, pairs) -> None:
            counts.append(install_all(pairs))
            advance(len(batch))

        with remote_errors(self.name, self.backend.url):
            self.backend.check(create=False)
            with self._workers(jobs, len(todo)) as pool, Pipeline() as pipeline:
                for batch in _chunks(todo, BATCH):
                    staged = self._copy(pool, batch, upload=False)
                    lacking.extend(d for d, tmp in zip(batch, staged) if tmp is None)
                    pairs = [(tmp, self._local(d)) for d, tmp in zip(batch, staged) if tmp]
                    pipeline.submit(commit, batch, pairs)
        done = sum(counts)
        if lacking:
            raise RemoteMissingError(self.name, lacking, done)
        return done

    def _local(self, digest: str) -> str:
        """The local object's path (digests are checked by ``_checked`` first)."""
        return f"{self._objects}/{digest[:2]}/{digest[2:]}"

    def _workers(self, jobs: int | None, count: int) -> FilePool:
        """Processes for many objects between two folders on this machine (copying is
        then CPU-bound, one per core); threads for a network remote (mostly waiting)."""
        jobs = jobs or self.jobs
        per_core = min(jobs, os.cpu_count() or 1)
        if isinstance(self.backend, LocalBackend) and wants_processes(per_core, count):
            return FilePool(per_core, processes=True)
        return FilePool(max(1, min(jobs, -(-count // TASK))), processes=False)

    def _copy(self, pool: FilePool, batch: list[str], upload: bool) -> list:
        """Stage ``batch`` on the receiving side: a temp per object (None for one the
        remote lacks, on pull). A corrupt object on the remote is store damage."""
        tasks = [batch[i:i + TASK] for i in range(0, len(batch), TASK)]
        if pool.processes:
            ends = (self._objects, self.backend.objects_root)
            src, dest = ends if upload else ends[::-1]
            fn = functools.partial(copy_objects, src, dest, not upload)
        else:
            fn = functools.partial(each_staged, self._upload_one if upload else self._download_one)
        try:
            results = pool.map_all(fn, tasks, drop=_drop)
        except CorruptObjectError as exc:
            if upload:
                raise
            raise StoreDamageError(f"object {exc.digest} on remote {self.name} is corrupt: {exc.message}",
                                   hint="push a good copy from a machine that has one") from None
        return [tmp for staged in results for tmp in staged]

    def _upload_one(self, digest: str):
        return self.backend.put_object(self._local(digest), object_relpath(digest), digest)

    def _download_one(self, digest: str) -> str | None:
        tmp = shard_temp(self._objects, digest, self._shards)
        try:
            self.backend.fetch_object(object_relpath(digest), tmp, digest)
        except FileNotFoundError:
            _unlink(tmp)
            return None
        except BaseException:
            _unlink(tmp)
            raise
        return tmp

    # -- small files (run records, indexes) -----------------------------------------------
    def put_file_bytes(self, relpath: str, data: bytes) -> None:
        """Create or replace ``relpath`` on the remote, atomically."""
        with remote_errors(self.name, self.backend.url):
            self.backend.check(create=True)
            self.backend.write_bytes(_check_remote_relpath(relpath), data)

    def get_file_bytes(self, relpath: str) -> bytes | None:
        """The file's bytes, or None when the remote has no such file."""
        with remote_errors(self.name, self.backend.url):
            return self.backend.read_bytes(_check_remote_relpath(relpath))

    def list_files(self, prefix: str) -> list[str]:
        """Every file below ``prefix`` (a folder-like relpath; "" for all), sorted."""
        prefix = prefix.strip("/")
        with remote_errors(self.name, self.backend.url):
            return self.backend.list_files(_check_remote_relpath(prefix) if prefix else "")


def default_jobs(repo: Repo, name: str) -> int:
    """remote.NAME.jobs, else core.jobs, else four per core (at most 32): transfers mostly
    wait, on round trips or on file creation."""
    for key in (f"remote.{name}.jobs", "core.jobs"):
        value = repo.config.get(key)
        if value:
            return int(value)
    return min(32, 4 * (os.cpu_count() or 2))


@contextlib.contextmanager
def remote_errors(name: str, url: str):
    """Turn the many ways a remote fails into one exit-2 error that names it."""
    try:
        yield
    except MlctlError:
        raise
    except FileNotFoundError as exc:
        what = exc.filename or url
        raise RemoteError(f"remote {name} ({url}): {exc.strerror or 'not found'}: {what}",
                          hint="check the URL with `mlctl remote list`") from None
    except PermissionError as exc:
        raise RemoteError(f"remote {name} ({url}): permission denied",
                          hint="check the credentials in .mlctl/config.local.yaml or the environment") from exc
    except Exception as exc:  # botocore, aiohttp, ssh...: their classes are not importable here
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RemoteError(f"remote {name} ({url}) is unreachable or refused the request: {detail}",
                          hint="check the URL, endpoint_url and credentials") from None


def _check_remote_relpath(relpath: str) -> str:
    pure = PurePosixPath(relpath)
    if not relpath or pure.is_absolute() or any(p in ("..", ".", "") for p in relpath.split("/")):
        raise UsageError(f"invalid remote path: {relpath!r}")
    return relpath


def _checked(digests: Iterable[str]) -> set[str]:
    wanted = set(digests)
    bad = [d for d in wanted if not is_hash(d)]
    if bad:
        raise UsageError(f"not an object id: {bad[0]!r}")
    return wanted


def _advancer(progress) -> Callable[[int], None]:
    if progress is None:
        return lambda n: None
    if hasattr(progress, "advance"):
        return progress.advance
    return progress


def _spread(digests: Iterable[str]) -> list[str]:
    """A stable order in which neighbours land in different shard folders: workers
    copying at the same time then rarely wait on one folder's lock (in digest order, two
    adjacent tasks fill the same folder; measured, that made a push twice as slow)."""
    return sorted(digests, key=lambda d: d[2:])


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _drop(staged: list) -> None:
    discard(tmp for tmp in staged if tmp)


def _unlink(path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
