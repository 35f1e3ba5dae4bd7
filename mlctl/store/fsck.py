"""fsck: verify every object against its name, and every component's references."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mlctl.components import iter_plugins
from mlctl.errors import MlctlError
from mlctl.store import hashing
from mlctl.store.atomic import is_temp_name
from mlctl.store.repo import Repo


@dataclass
class FsckResult:
    objects_checked: int = 0
    corrupt: list[dict] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)
    temp_files: int = 0
    repaired: list[str] = field(default_factory=list)
    rebuilt: list[dict] = field(default_factory=list)  # indexes --repair rebuilt
    # objects a shared backend names that this clone never had (another machine's model
    # files): fetched when needed, not damage; components mark them ``elsewhere``
    not_here: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing and not self.rebuilt

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "objects_checked": self.objects_checked,
            "corrupt": self.corrupt,
            "missing": self.missing,
            "temp_files": self.temp_files,
            "repaired": self.repaired,
            "rebuilt": self.rebuilt,
            "not_here": self.not_here,
        }


def _check_object(repo: Repo, digest: str) -> dict | None:
    path = repo.objects.path(digest)
    try:
        actual = hashing.hash_file(path)
    except OSError as exc:
        return {"object": digest, "problem": f"unreadable: {exc.strerror}", "size": None}
    if actual == digest:
        return None
    return {"object": digest, "problem": "content does not match its hash", "size": path.stat().st_size}


def fsck(repo: Repo, jobs: int | None = None, repair: bool = False) -> FsckResult:
    result = FsckResult()
    digests = list(repo.objects.iter_hashes())
    result.objects_checked = len(digests)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
        for problem in pool.map(lambda d: _check_object(repo, d), digests):
            if problem:
                result.corrupt.append(problem)
    if repair:
        for problem in result.corrupt:
            repo.objects.remove(problem["object"])
            result.repaired.append(problem["object"])
    for name, plugin in iter_plugins():
        if repair and getattr(plugin, "fsck_repair", None):
            result.rebuilt.extend(plugin.fsck_repair(repo))
        fsck_refs = getattr(plugin, "fsck_refs", None)
        if fsck_refs:
            for item in _component_refs(name, fsck_refs, repo):
                (result.not_here if item.pop("elsewhere", False) else result.missing).append(item)
    result.temp_files = sum(1 for _ in iter_temp_files(repo))
    return result


def _component_refs(name: str, fsck_refs, repo: Repo) -> list[dict]:
    """One component's reference check; its damaged state is a finding, not a crash
    that hides every other component's."""
    try:
        return list(fsck_refs(repo))
    except MlctlError as exc:
        return [{"what": f"{name} state", "object": None, "problem": exc.message}]


def iter_temp_files(repo: Repo):
    """Temp files left by writers anywhere under .mlctl/ (see store.atomic)."""
    for dirpath, _dirnames, filenames in os.walk(repo.dot):
        for name in filenames:
            if is_temp_name(name):
                yield os.path.join(dirpath, name)
