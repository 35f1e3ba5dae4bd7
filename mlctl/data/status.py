"""`mlctl data status`: the workspace against the pointers, file by file inside folders.

With nothing changed this costs stat calls only: the stat cache answers every file's hash,
and the store is asked only whether objects exist.
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
from dataclasses import dataclass, field

from mlctl.data.hasher import TreeHasher
from mlctl.data.needs import missing_from_manifest, present
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import list_files, listing_fingerprint, select, tracked
from mlctl.errors import ObjectMissingError
from mlctl.store import tree
from mlctl.store.repo import Repo
from mlctl.store.statcache import fingerprint


@dataclass
class PathStatus:
    pointer: Pointer
    state: str = "unchanged"  # unchanged | modified | deleted
    in_store: bool = True  # every object the pointer needs is in the local store
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.state != "unchanged" or not self.in_store

    def to_json(self) -> dict:
        return {"path": self.pointer.path, "kind": self.pointer.kind, "state": self.state,
                "in_store": self.in_store, "added": self.added, "modified": self.modified,
                "deleted": self.deleted}


@dataclass
class StatusReport:
    paths: list[PathStatus]

    @property
    def changed(self) -> bool:
        return any(p.changed for p in self.paths)

    def to_json(self) -> dict:
        return {"changed": self.changed, "tracked": len(self.paths),
                "paths": [p.to_json() for p in self.paths if p.changed]}


def status(repo: Repo, paths: list[str] | None = None, jobs: int | None = None) -> StatusReport:
    pointers = select(repo, tracked(repo), paths)
    with TreeHasher(repo, store=False, jobs=jobs) as hasher:
        return StatusReport([path_status(repo, hasher, p) for p in pointers])


def path_status(repo: Repo, hasher: TreeHasher, pointer: Pointer) -> PathStatus:
    result = PathStatus(pointer)
    path = repo.workspace_path(pointer.path)
    result.in_store = _in_store(repo, hasher, pointer)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        result.state = "deleted"
        return result
    if pointer.kind == "dir" and stat_mod.S_ISDIR(st.st_mode):
        _compare_folder(repo, hasher, pointer, str(path), result)
    else:
        current, _ = hasher.hash_path(pointer.path)
        result.state = "unchanged" if current.hash == pointer.hash else "modified"
    return result


def _in_store(repo: Repo, hasher: TreeHasher, pointer: Pointer) -> bool:
    exists = present(repo.objects)
    if not exists(pointer.hash):
        return False
    if pointer.kind == "file":
        return True
    return not missing_from_manifest(repo.objects, hasher.cache, pointer.hash,
                                     lambda: tree.hashes(repo.objects, pointer.hash))


def _compare_folder(repo: Repo, hasher: TreeHasher, pointer: Pointer, path: str, result: PathStatus) -> None:
    started = time.time_ns()
    if hasher.cache.folder_hash(pointer.path, listing_fingerprint(path, started)) == pointer.hash:
        return  # the listing is exactly the one last seen matching this pointer
    files = list_files(path, pointer.path)
    fp = fingerprint(((f.rel, f.st) for f in files), started)
    try:
        entries = tree.load(repo.objects, pointer.hash)
    except ObjectMissingError:  # can't say which files differ; the folder hash still can
        current, _ = hasher.hash_path(pointer.path)
        result.state = "unchanged" if current.hash == pointer.hash else "modified"
        return
    hashes = hasher.hash_files(pointer.path, files)
    recorded = {e.path: e for e in entries}
    present_now = set()
    for f, digest in zip(files, hashes):
        present_now.add(f.rel)
        entry = recorded.get(f.rel)
        if entry is None:
            result.added.append(f"{pointer.path}/{f.rel}")
        elif entry.hash != digest:  # content only: link checkouts cannot carry the exec bit
            result.modified.append(f"{pointer.path}/{f.rel}")
    result.deleted = [f"{pointer.path}/{e.path}" for e in entries if e.path not in present_now]
    if result.added or result.modified or result.deleted:
        result.state = "modified"
    else:
        hasher.cache.record_folder(pointer.path, fp, pointer.hash)
