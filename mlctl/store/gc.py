"""gc: remove objects nothing refers to, and temp files whose writers are gone.

Roots come from every component's ``gc_roots``. Only objects older than the grace period
are removed, so an object a concurrent writer has just put (but not yet referenced) stays.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

from mlctl.components import iter_hooks
from mlctl.errors import UsageError
from mlctl.store.atomic import temp_owner_pid, process_alive
from mlctl.store.fsck import iter_temp_files
from mlctl.store.repo import Repo

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """'90s', '15m', '12h', '1d', '2w' -> seconds; a bare number is seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text))
    if not match:
        raise UsageError(f"invalid duration: {text!r}", hint="use e.g. 30s, 15m, 12h, 1d, 2w")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@dataclass
class GcResult:
    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept_recent: int = 0
    referenced: int = 0
    temp_removed: int = 0
    dry_run: bool = False

    def to_json(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "removed": len(self.removed),
            "removed_objects": self.removed,
            "bytes_freed": self.bytes_freed,
            "kept_recent": self.kept_recent,
            "referenced": self.referenced,
            "temp_removed": self.temp_removed,
        }


def collect_roots(repo: Repo) -> set[str]:
    roots: set[str] = set()
    for _name, hooks in iter_hooks():
        gc_roots = getattr(hooks, "gc_roots", None)
        if gc_roots:
            roots.update(gc_roots(repo))
    return roots


def gc(repo: Repo, grace: float = 86400.0, dry_run: bool = False) -> GcResult:
    result = GcResult(dry_run=dry_run)
    with repo.lock("gc", timeout=0.0):
        roots = collect_roots(repo)
        cutoff = time.time() - grace
        for digest in repo.objects.iter_hashes():
            if digest in roots:
                result.referenced += 1
                continue
            path = repo.objects.path(digest)
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if st.st_mtime > cutoff:
                result.kept_recent += 1
                continue
            result.removed.append(digest)
            result.bytes_freed += st.st_size
            if not dry_run:
                repo.objects.remove(digest)
        result.temp_removed = _remove_temps(repo, cutoff, dry_run)
    return result


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
