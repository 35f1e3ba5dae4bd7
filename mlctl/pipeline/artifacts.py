"""The pipeline's one door to the data layer: hash, store, restore and track paths.

Every other pipeline module goes through these functions, so the data layer's API is
used in this one place.
"""

from __future__ import annotations

import json
import os
import shutil
import stat as stat_mod
from dataclasses import dataclass

from mlctl.store import hashing
from mlctl.store.repo import Repo


@dataclass(frozen=True)
class Pointer:
    hash: str
    size: int
    nfiles: int
    kind: str  # "file" or "dir"

    def to_json(self) -> dict:
        return {"hash": self.hash, "size": self.size, "nfiles": self.nfiles, "kind": self.kind}

    @classmethod
    def from_json(cls, data: dict) -> "Pointer":
        return cls(data["hash"], int(data["size"]), int(data["nfiles"]), data["kind"])


def hash_path(repo: Repo, relpath: str) -> Pointer | None:
    """The content hash of a workspace file or folder; None when it does not exist."""
    path = repo.root / relpath
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if stat_mod.S_ISDIR(st.st_mode):
        entries = _walk(path)
        manifest = _manifest_bytes(entries)
        return Pointer(hashing.hash_bytes(manifest), sum(e["size"] for e in entries), len(entries), "dir")
    return Pointer(hashing.hash_file(path), st.st_size, 1, "file")


def _walk(folder) -> list[dict]:
    entries = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            st = os.stat(full)
            entries.append({"path": os.path.relpath(full, folder).replace(os.sep, "/"),
                            "hash": hashing.hash_file(full), "size": st.st_size,
                            "mode": 0o755 if st.st_mode & 0o111 else 0o644})
    entries.sort(key=lambda e: e["path"])
    return entries


def _manifest_bytes(entries: list[dict]) -> bytes:
    return json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()


def save(repo: Repo, relpaths: list[str], track: bool = True) -> dict[str, Pointer]:
    """Put the paths into the store; ``track`` makes them tracked data (pointer files)."""
    saved = {}
    for rel in relpaths:
        path = repo.root / rel
        if path.is_dir():
            entries = _walk(path)
            for entry in entries:
                repo.objects.put_file(path / entry["path"])
            digest = repo.objects.put_bytes(_manifest_bytes(entries))
            saved[rel] = Pointer(digest, sum(e["size"] for e in entries), len(entries), "dir")
        else:
            digest, size = repo.objects.put_file(path)
            saved[rel] = Pointer(digest, size, 1, "file")
    return saved


def manifest_entries(repo: Repo, pointer: Pointer) -> list[dict]:
    return json.loads(repo.objects.get_bytes(pointer.hash)) if pointer.kind == "dir" else []


def objects_of(repo: Repo, pointer: Pointer) -> list[str]:
    """Every object a stored path needs (the manifest and its files, for folders)."""
    if pointer.kind != "dir":
        return [pointer.hash]
    if not repo.objects.exists(pointer.hash):
        return [pointer.hash]
    return [pointer.hash, *(e["hash"] for e in manifest_entries(repo, pointer))]


def present(repo: Repo, pointer: Pointer) -> bool:
    """True when every object of the stored path is in the local store."""
    return all(repo.objects.exists(d) for d in objects_of(repo, pointer))


def restore(repo: Repo, outs: dict[str, Pointer], track: bool = True) -> None:
    """Make the workspace paths hold the stored versions."""
    for rel, pointer in outs.items():
        remove(repo, rel)
        dest = repo.root / rel
        if pointer.kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
            for entry in manifest_entries(repo, pointer):
                repo.objects.copy_to(entry["hash"], dest / entry["path"])
                os.chmod(dest / entry["path"], entry["mode"])
        else:
            repo.objects.copy_to(pointer.hash, dest)


def remove(repo: Repo, relpath: str) -> None:
    """Delete a workspace file or folder (outputs, before their stage runs again)."""
    path = repo.root / relpath
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
