"""`mlctl data status`: the workspace against the pointers, file by file inside folders.

With nothing changed this costs stat calls only: the stat cache answers every file's hash,
and the store is asked only whether objects exist.
"""

from __future__ import annotations

import os
import stat as stat_mod
from dataclasses import dataclass, field

from mlctl.data import manifest
from mlctl.data.hasher import TreeHasher
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import list_files, select, tracked
from mlctl.errors import ObjectMissingError
from mlctl.store.repo import Repo


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
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    entries = _manifest(repo, pointer)
    result.in_store = _in_store(repo, pointer, entries)
    if st is None:
        result.state = "deleted"
    elif pointer.kind == "file" or entries is None or not stat_mod.S_ISDIR(st.st_mode):
        current, _ = hasher.hash_path(pointer.path)
        result.state = "unchanged" if current.hash == pointer.hash else "modified"
    else:
        _compare_folder(hasher, pointer, entries, str(path), result)
    return result


def _manifest(repo: Repo, pointer: Pointer) -> list[manifest.Entry] | None:
    if pointer.kind != "dir":
        return None
    try:
        return manifest.load(repo.objects, pointer.hash)
    except ObjectMissingError:
        return None


def _in_store(repo: Repo, pointer: Pointer, entries: list[manifest.Entry] | None) -> bool:
    if pointer.kind == "dir" and entries is None:
        return False
    exists = repo.objects.exists
    if entries is None:
        return exists(pointer.hash)
    return all(exists(e.hash) for e in entries)


def _compare_folder(hasher: TreeHasher, pointer: Pointer, entries, path: str, result: PathStatus) -> None:
    files = list_files(path, pointer.path)
    hashes = hasher.hash_files(pointer.path, files)
    recorded = {e.path: e for e in entries}
    present = set()
    for f, digest in zip(files, hashes):
        present.add(f.rel)
        entry = recorded.get(f.rel)
        if entry is None:
            result.added.append(f"{pointer.path}/{f.rel}")
        elif entry.hash != digest:  # content only: link checkouts cannot carry the exec bit
            result.modified.append(f"{pointer.path}/{f.rel}")
    result.deleted = [f"{pointer.path}/{e.path}" for e in entries if e.path not in present]
    if result.added or result.modified or result.deleted:
        result.state = "modified"
