"""`mlctl gc --remote`: remove the temp files killed pushes left on a remote.

Only temps, never objects: other clones may reference any object on a shared remote, and
this clone cannot see their history. A temp younger than the grace period may belong to a
push still running (on any machine), so it stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mlctl.store.repo import Repo
from mlctl.store.transfer import RemoteStore, remote_errors


@dataclass
class RemoteGcResult:
    remote: str
    dry_run: bool = False
    temp_removed: list[str] = field(default_factory=list)
    kept_recent: int = 0

    def to_json(self) -> dict:
        return {"remote": self.remote, "dry_run": self.dry_run, "temp_removed": len(self.temp_removed),
                "temp_files": self.temp_removed, "kept_recent": self.kept_recent}


def gc_remote(repo: Repo, remote: str | None = None, grace: float = 86400.0,
              dry_run: bool = False) -> RemoteGcResult:
    store = RemoteStore.open(repo, remote)
    result = RemoteGcResult(store.name, dry_run)
    cutoff = time.time() - grace
    with remote_errors(store.name, store.backend.url):
        for rel, mtime in store.backend.list_temps():
            if (mtime is None and grace > 0) or (mtime is not None and mtime > cutoff):
                result.kept_recent += 1  # an unknown age counts as recent unless --grace 0
                continue
            result.temp_removed.append(rel)
            if not dry_run:
                store.backend.remove(rel)
    return result
