"""`mlctl data push` / `pull`: move the objects of tracked paths to and from a remote.

Push sends file objects before the manifests that list them, so a remote never holds a
manifest whose files are missing; pull fetches manifests first (to learn the files), then
the files. Only missing objects move, in parallel, verified; see mlctl/store/transfer.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlctl.data import manifest
from mlctl.data.needs import file_objects, require
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import select, tracked
from mlctl.errors import ObjectMissingError
from mlctl.store.repo import Repo


@dataclass
class SyncResult:
    remote: str
    transferred: int
    objects: int  # objects the selected pointers need in all
    paths: int

    def to_json(self) -> dict:
        return {"remote": self.remote, "transferred": self.transferred, "objects": self.objects,
                "paths": self.paths}


def _pointers(repo: Repo, paths: list[str] | None, rev: str | None) -> list[Pointer]:
    if rev is None:
        return select(repo, tracked(repo), paths)
    from mlctl.data.revs import pointers_at

    return select(repo, pointers_at(repo, rev), paths)


def push(repo: Repo, paths: list[str] | None = None, remote: str | None = None, jobs: int | None = None,
         rev: str | None = None, progress=None) -> SyncResult:
    from mlctl.store.transfer import RemoteStore

    pointers = _pointers(repo, paths, rev)
    entries = require(repo, pointers)
    files = _unique(d for p in pointers for d in file_objects(p, entries[p.path]))
    manifests = _unique(p.hash for p in pointers if p.kind == "dir")
    store = RemoteStore.open(repo, remote)
    with _bar(progress, f"push to {store.name}", len(files) + len(manifests)) as bar:
        sent = store.push(files, jobs=jobs, progress=bar)
        sent += store.push(manifests, jobs=jobs, progress=bar)
    return SyncResult(store.name, sent, len(files) + len(manifests), len(pointers))


def pull(repo: Repo, paths: list[str] | None = None, remote: str | None = None, jobs: int | None = None,
         rev: str | None = None, progress=None) -> SyncResult:
    """Fetch what the pointers need; whatever the remote lacks is reported (naming the
    paths) only after everything else has arrived."""
    from mlctl.store.transfer import RemoteMissingError, RemoteStore

    pointers = _pointers(repo, paths, rev)
    store = RemoteStore.open(repo, remote)
    manifests = _unique(p.hash for p in pointers if p.kind == "dir")
    got, lacking = _pull_some(store, manifests, jobs, None)
    files, incomplete = [], []
    for p in pointers:
        try:
            entries = manifest.load(repo.objects, p.hash) if p.kind == "dir" else None
        except ObjectMissingError:
            incomplete.append(p.path)
            continue
        files.extend(file_objects(p, entries))
    files = _unique(files)
    with _bar(progress, f"pull from {store.name}", len(files)) as bar:
        more, lacking_files = _pull_some(store, files, jobs, bar)
    got += more
    lacking += lacking_files
    if lacking:
        incomplete += [p.path for p in pointers if p.kind == "file" and p.hash in set(lacking_files)]
        named = _names(incomplete or [p.path for p in pointers])
        raise RemoteMissingError(store.name, lacking, got, what=f" needed by {named}")
    return SyncResult(store.name, got, len(files) + len(manifests), len(pointers))


def _pull_some(store, digests: list[str], jobs, bar) -> tuple[int, list[str]]:
    from mlctl.store.transfer import RemoteMissingError

    try:
        return store.pull(digests, jobs=jobs, progress=bar), []
    except RemoteMissingError as exc:
        return exc.done, exc.digests


def _names(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _bar(progress, description: str, total: int):
    from mlctl.data.hasher import null_progress

    return (progress or null_progress)(description, total=total)
