"""The pipeline's one door to the data layer: hash, store, restore and track paths.

Every other pipeline module goes through these functions, so the data layer's API is used
in this one place. Stage outputs (``outs``) become tracked data exactly like `mlctl data
add` paths: a ``PATH.mlctl`` pointer and a .gitignore entry, so `data push/pull` carry them
and `data checkout --rev` restores them. Metrics files are stored (so the run-cache can
restore them) but left to git, which diffs them better than pointers would.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from mlctl.errors import MlctlError, NotFoundError, UsageError
from mlctl.store.hashing import is_hash
from mlctl.store.repo import Repo


@dataclass(frozen=True)
class Pointer:
    """A stored version of a path: the same hash, size and file count `data add` records."""

    hash: str
    size: int
    nfiles: int
    kind: str  # "file" or "dir"

    def to_json(self) -> dict:
        return {"hash": self.hash, "size": self.size, "nfiles": self.nfiles, "kind": self.kind}

    @classmethod
    def from_json(cls, data: dict) -> "Pointer":
        return cls(data["hash"], int(data["size"]), int(data["nfiles"]), data["kind"]).check()

    def check(self) -> "Pointer":
        """Itself, when its fields could name stored objects (ValueError otherwise)."""
        if not is_hash(self.hash) or self.kind not in ("file", "dir") or self.size < 0 or self.nfiles < 0:
            raise ValueError(f"invalid stored output {self.to_json()!r}")
        return self

    @classmethod
    def of(cls, data_pointer) -> "Pointer":
        return cls(data_pointer.hash, data_pointer.size, data_pointer.nfiles, data_pointer.kind)


class PathHasher:
    """Content hashes of workspace paths through the data layer's stat cache (opened once
    for many paths; one per thread). Nothing is stored: deps are read, not cached."""

    def __init__(self, repo: Repo):
        from mlctl.data.api import TreeHasher

        self._hasher = TreeHasher(repo, store=False)

    def hash_path(self, relpath: str) -> Pointer | None:
        """The path's hash; None when it does not exist (or is a socket, a broken link...)."""
        try:
            return Pointer.of(self._hasher.hash_path(relpath)[0])
        except (NotFoundError, FileNotFoundError, UsageError):
            return None

    def close(self) -> None:
        self._hasher.close()

    def __enter__(self) -> "PathHasher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def hash_path(repo: Repo, relpath: str) -> Pointer | None:
    with PathHasher(repo) as hasher:
        return hasher.hash_path(relpath)


def tracked_roots(repo: Repo, paths) -> list[str]:
    """The tracked data path (itself, or the tracked folder holding it) of each path that
    is tracked data; code and other untracked paths are left out."""
    from mlctl.data import api as data_api

    tracked = {p.path for p in data_api.tracked(repo)}
    roots = set()
    for rel in paths:
        parts = rel.split("/")
        found = next(("/".join(parts[:n]) for n in range(len(parts), 0, -1) if "/".join(parts[:n]) in tracked), None)
        if found is not None:
            roots.add(found)
    return sorted(roots)


def save(repo: Repo, outs: list[str], metrics: list[str]) -> tuple[dict[str, Pointer], dict[str, Pointer]]:
    """Store a finished stage's products: outs as tracked data, metrics as plain objects."""
    from mlctl.data import api as data_api

    tracked = {p.path: Pointer.of(p) for p in data_api.add(repo, list(outs)).pointers} if outs else {}
    stored = {rel: Pointer.of(data_api.hash_path(repo, rel)) for rel in metrics}
    return {rel: tracked[rel] for rel in outs}, stored


def restore(repo: Repo, outs: dict[str, Pointer], metrics: dict[str, Pointer]) -> None:
    """Put stored versions back: pointers rewritten then checked out (outputs belong to the
    pipeline, so what is in the workspace is replaced), metrics copied from the store."""
    from mlctl.data import api as data_api

    for rel, p in outs.items():
        data_api.write_pointer(repo.root, data_api.Pointer(rel, p.hash, p.size, p.nfiles, p.kind))
    if outs:
        data_api.checkout(repo, list(outs), force=True)
    for rel, p in metrics.items():
        _copy_out(repo, rel, p)


def _copy_out(repo: Repo, rel: str, pointer: Pointer) -> None:
    dest = repo.workspace_path(rel, "metrics file")
    remove(repo, rel)
    if pointer.kind != "dir":
        repo.objects.copy_to(pointer.hash, dest)
        return
    from mlctl.data import api as data_api

    data_api.copy_folder(repo, pointer.hash, dest)


def manifest_entries(repo: Repo, pointer: Pointer) -> list[dict]:
    from mlctl.data import api as data_api

    return data_api.manifest_entries(repo, pointer.hash) if pointer.kind == "dir" else []


def objects_of(repo: Repo, pointer: Pointer) -> list[str]:
    """Every object a stored path needs: the manifest first, then its files (for folders).
    A folder whose manifest is not here yields the manifest alone."""
    if pointer.kind != "dir" or not repo.objects.exists(pointer.hash):
        return [pointer.hash]
    return [pointer.hash, *(e["hash"] for e in manifest_entries(repo, pointer))]


def present(repo: Repo, pointer: Pointer) -> bool:
    """True when every object of the stored path is in the local store."""
    try:
        return all(repo.objects.exists(d) for d in objects_of(repo, pointer))
    except MlctlError:  # an unreadable manifest: not restorable
        return False


def remove(repo: Repo, relpath: str) -> None:
    """Delete a workspace file or folder (outputs, before their stage runs again)."""
    path = repo.workspace_path(relpath, "stage output")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
