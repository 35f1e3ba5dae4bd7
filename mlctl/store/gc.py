"""gc: remove objects nothing refers to, and temp files whose writers are gone.

What is kept comes from every component (see store/gcscope.py: by default everything any
commit git keeps can reach). Only objects older than the grace period are removed, so an
object a concurrent writer has just put (but not yet referenced) stays.

Deletion runs in the reverse of the write order (objects, then the records that list
them, then refs): records (JSON objects: folder manifests, registry records, run-cache
entries) go first, then the files. A gc killed part-way thus never leaves a record
whose listed objects are gone while it stays; a rerun finishes the rest.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from mlctl.store.atomic import process_alive, temp_owner_pid
from mlctl.store.fsck import iter_temp_files
from mlctl.store.gcscope import Roots, Scope, collect, lost_versions
from mlctl.store.gcscope import collect_roots  # noqa: F401  (the default scope's roots, for callers)
from mlctl.store.repo import Repo

RECORD_START = b"{"  # every record mlctl stores is a JSON object


@dataclass
class Narrowing:
    """What a narrower scope removes that the default scope would keep."""

    objects: int = 0
    bytes: int = 0
    lost: list[str] = field(default_factory=list)  # path@commit of history versions losing data

    def to_json(self) -> dict:
        return {"objects": self.objects, "bytes": self.bytes, "lost_versions": self.lost}


@dataclass
class GcResult:
    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept_recent: int = 0
    referenced: int = 0
    temp_removed: int = 0
    dry_run: bool = False
    scope: str = "all-commits"
    beyond_default: Narrowing = field(default_factory=Narrowing)
    malformed_pointers: list[str] = field(default_factory=list)
    declined: bool = False

    def to_json(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "scope": self.scope,
            "removed": len(self.removed),
            "removed_objects": self.removed,
            "bytes_freed": self.bytes_freed,
            "kept_recent": self.kept_recent,
            "referenced": self.referenced,
            "temp_removed": self.temp_removed,
            "beyond_default": self.beyond_default.to_json(),
            "malformed_pointers": self.malformed_pointers,
            "declined": self.declined,
        }


Confirm = Callable[[GcResult], bool]


def gc(repo: Repo, grace: float = 86400.0, dry_run: bool = False, scope: Scope = Scope(),
       confirm: Confirm | None = None) -> GcResult:
    """Remove what ``scope`` does not keep and is older than ``grace`` seconds. When the
    scope removes more than the default would, ``confirm(result)`` (result filled in as
    a dry run) decides; None means yes."""
    result = GcResult(dry_run=dry_run, scope=scope.name)
    # Both locks wait MLCTL_LOCK_TIMEOUT / core.lock_timeout, like every command. The data
    # lock keeps `data add`/`checkout` out while gc runs: an add that finds an old,
    # unreferenced object already stored skips writing it and would lose it to this gc.
    with repo.lock("gc"), repo.lock("data"):
        roots = collect(repo, scope)
        result.malformed_pointers = roots.malformed
        cutoff = time.time() - grace
        _plan(repo, roots, cutoff, result)
        if not dry_run and result.beyond_default.objects and confirm is not None and not confirm(result):
            result.declined = True
            result.removed, result.bytes_freed = [], 0
            return result
        if not dry_run:
            result.removed = _remove_objects(repo, result.removed, cutoff)
        result.temp_removed = _remove_temps(repo, cutoff, dry_run)
    return result


def _plan(repo: Repo, roots: Roots, cutoff: float, result: GcResult) -> None:
    """Fill ``result`` with what would go: unkept objects older than ``cutoff``."""
    beyond: set[str] = set()
    for digest in repo.objects.iter_hashes():
        if digest in roots.keep:
            result.referenced += 1
            continue
        try:
            st = repo.objects.path(digest).stat()
        except FileNotFoundError:
            continue
        if st.st_mtime > cutoff:
            result.kept_recent += 1
            continue
        result.removed.append(digest)
        result.bytes_freed += st.st_size
        if digest in roots.default:
            beyond.add(digest)
            result.beyond_default.bytes += st.st_size
    result.beyond_default.objects = len(beyond)
    result.beyond_default.lost = lost_versions(roots.versions, beyond) if beyond else []


def _remove_objects(repo: Repo, digests: list[str], cutoff: float) -> list[str]:
    """Records first, then everything else (see the module doc). An object written again
    since the plan (a writer that found it stored touches it) is spared."""
    records, others = [], []
    for digest in digests:
        (records if _is_record(repo, digest) else others).append(digest)
    removed = []
    for digest in records + others:
        try:
            if repo.objects.path(digest).stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        repo.objects.remove(digest)
        removed.append(digest)
    return removed


def _is_record(repo: Repo, digest: str) -> bool:
    try:
        with open(repo.objects.path(digest), "rb") as f:
            return f.read(1) == RECORD_START
    except OSError:
        return False


def _remove_temps(repo: Repo, cutoff: float, dry_run: bool) -> int:
    count = 0
    for path in iter_temp_files(repo):
        pid = temp_owner_pid(os.path.basename(path))
        if pid is not None and process_alive(pid):
            try:
                if os.stat(path).st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
        count += 1
        if not dry_run:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return count
