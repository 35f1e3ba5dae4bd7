"""`mlctl data diff [A [B]]`: added / modified / deleted files between two versions.

A version is a git revision's pointers, or the workspace (``None``): the data on disk
under the workspace's tracked paths, hashed through the stat cache without storing it.
Default: HEAD against the workspace. Folders are compared file by file through their
manifests, so their manifest objects must be in the local store (pull them if not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.data.hasher import TreeHasher, entry_size
from mlctl.data.needs import entries_of
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import select, tracked
from mlctl.errors import NotFoundError
from mlctl.store import git
from mlctl.store.repo import Repo

Files = dict[str, tuple[str, int]]  # workspace path -> (hash, size)


@dataclass
class DiffReport:
    old: str
    new: str
    added: list[dict] = field(default_factory=list)
    modified: list[dict] = field(default_factory=list)
    deleted: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.deleted)

    def to_json(self) -> dict:
        return {"old": self.old, "new": self.new, "changed": self.changed, "added": self.added,
                "modified": self.modified, "deleted": self.deleted}


def diff(repo: Repo, rev_a: str | None = None, rev_b: str | None = None, paths: list[str] | None = None) -> DiffReport:
    unborn = rev_a is None and git.head_commit(repo.root) is None  # no commit yet: all is added
    rev_a = rev_a or "HEAD"
    with TreeHasher(repo, store=False) as hasher:
        old = {} if unborn else _files(repo, hasher, rev_a, paths)
        new = _files(repo, hasher, rev_b, paths)
    if paths and not old and not new:
        raise NotFoundError(f"{paths[0]} is not tracked in {rev_a} or {rev_b or 'the workspace'}")
    report = DiffReport(rev_a, rev_b or "workspace")
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a is None:
            report.added.append({"path": path, "hash": b[0], "size": b[1]})
        elif b is None:
            report.deleted.append({"path": path, "hash": a[0], "size": a[1]})
        elif a[0] != b[0]:
            report.modified.append({"path": path, "old_hash": a[0], "new_hash": b[0],
                                    "old_size": a[1], "new_size": b[1]})
    return report


def _files(repo: Repo, hasher: TreeHasher, rev: str | None, paths) -> Files:
    if rev is None:
        pointers = _select(repo, tracked(repo), paths, "the workspace")
        return _workspace_files(repo, hasher, pointers)
    from mlctl.data.revs import pointers_at

    pointers = _select(repo, pointers_at(repo, rev), paths, rev)
    return _pointer_files(repo, pointers, rev)


def _select(repo, pointers, paths, where: str) -> list[Pointer]:
    if not paths:
        return pointers
    try:
        return select(repo, pointers, paths)
    except NotFoundError:
        return []  # tracked on the other side only: everything there is added or deleted


def _pointer_files(repo: Repo, pointers: list[Pointer], rev: str) -> Files:
    out: Files = {}
    for p in pointers:
        entries = entries_of(repo, p, rev)  # a missing manifest: the hint names `data pull --rev REV`
        if entries is None:
            out[p.path] = (p.hash, p.size)
        else:
            out.update((f"{p.path}/{e.path}", (e.hash, e.size)) for e in entries)
    return out


def _workspace_files(repo: Repo, hasher: TreeHasher, pointers: list[Pointer]) -> Files:
    from mlctl.data.workspace import list_files

    out: Files = {}
    for p in pointers:
        root = repo.workspace_path(p.path)
        if root.is_dir():
            files = list_files(str(root), p.path)
            hashes = hasher.hash_files(p.path, files)
            out.update((f"{p.path}/{f.rel}", (h, entry_size(f))) for f, h in zip(files, hashes))
        elif root.is_file():
            current, _ = hasher.hash_path(p.path)
            out[p.path] = (current.hash, current.size)
    return out
