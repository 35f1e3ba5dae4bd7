"""`pipeline push` / `pull`: share the run-cache through the data remote.

On the remote, an entry is its object (under ``objects/`` like every other object) plus a
small file ``pipeline/runcache/<fingerprint>`` holding the object's id. Push sends output
file objects, then manifests, then entry objects, then the index files, so a remote never
names an entry whose objects are missing. Pull reverses it and writes the local ref last;
an entry whose outputs the remote lacks is skipped, not half-installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.errors import StoreDamageError
from mlctl.pipeline import artifacts, runcache
from mlctl.store.hashing import is_hash
from mlctl.store.repo import Repo

REMOTE_PREFIX = "pipeline/runcache"


@dataclass
class SyncResult:
    remote: str
    entries: int = 0  # entries sent or received
    objects: int = 0  # objects transferred
    skipped: list[dict] = field(default_factory=list)  # {"fingerprint", "stage", "reason"}

    def to_json(self) -> dict:
        return {"remote": self.remote, "entries": self.entries, "objects": self.objects, "skipped": self.skipped}


def _open(repo: Repo, remote: str | None):
    from mlctl.store.transfer import RemoteStore

    return RemoteStore.open(repo, remote)


def _split(repo: Repo, entry: runcache.Entry) -> tuple[list[str], list[str]]:
    """(file objects, manifest objects) of an entry's outputs."""
    files, manifests = [], []
    for pointer in entry.products.values():
        if pointer.kind == "dir":
            manifests.append(pointer.hash)
            files.extend(d for d in artifacts.objects_of(repo, pointer)[1:])
        else:
            files.append(pointer.hash)
    return files, manifests


def push(repo: Repo, remote: str | None = None, jobs: int | None = None) -> SyncResult:
    store = _open(repo, remote)
    result = SyncResult(store.name)
    ready: list[tuple[str, str, runcache.Entry]] = []
    for fingerprint, digest in runcache.iter_refs(repo):
        entry = runcache.lookup(repo, fingerprint)
        if entry is None or not all(artifacts.present(repo, p) for p in entry.products.values()):
            result.skipped.append({"fingerprint": fingerprint, "stage": entry.stage if entry else None,
                                   "reason": "outputs not in the local store"})
            continue
        ready.append((fingerprint, digest, entry))
    files, manifests = [], []
    for _fp, _digest, entry in ready:
        f, m = _split(repo, entry)
        files += f
        manifests += m
    result.objects += store.push(_unique(files), jobs=jobs)
    result.objects += store.push(_unique(manifests), jobs=jobs)
    result.objects += store.push(_unique(d for _fp, d, _e in ready), jobs=jobs)
    remote_index = set(store.list_files(REMOTE_PREFIX))
    for fingerprint, digest, _entry in ready:
        name = f"{REMOTE_PREFIX}/{fingerprint}"
        if name not in remote_index or (store.get_file_bytes(name) or b"").decode().strip() != digest:
            store.put_file_bytes(name, (digest + "\n").encode())
            result.entries += 1
    return result


def pull(repo: Repo, remote: str | None = None, jobs: int | None = None) -> SyncResult:
    from mlctl.store.transfer import RemoteMissingError

    store = _open(repo, remote)
    result = SyncResult(store.name)
    wanted = _remote_entries(repo, store)
    lacking: set[str] = set()
    try:
        result.objects += store.pull(list(wanted.values()), jobs=jobs)
    except RemoteMissingError as exc:
        lacking.update(exc.digests)
    entries = {fp: _received(repo, store.name, digest) for fp, digest in wanted.items()
               if repo.objects.exists(digest)}
    for layer in ("manifests", "files"):
        todo = _unique(d for e in entries.values() for d in _layer(repo, e, layer))
        try:
            result.objects += store.pull(todo, jobs=jobs)
        except RemoteMissingError as exc:
            lacking.update(exc.digests)
    for fingerprint in wanted.keys() - entries.keys():
        result.skipped.append({"fingerprint": fingerprint, "stage": None, "reason": "the remote lacks the entry object"})
    for fingerprint, entry in entries.items():
        if any(not artifacts.present(repo, p) for p in entry.products.values()):
            result.skipped.append({"fingerprint": fingerprint, "stage": entry.stage,
                                   "reason": f"the remote lacks some of its outputs ({len(lacking)} objects)"})
            continue
        repo.refs.write(runcache.ref_name(fingerprint), wanted[fingerprint] + "\n")
        result.entries += 1
    return result


def _received(repo: Repo, remote: str, digest: str) -> runcache.Entry:
    """A received entry, checked like a manifest before any of it is installed."""
    try:
        return runcache.load_entry(repo, digest)
    except StoreDamageError as exc:
        raise StoreDamageError(f"remote {remote}: {exc.message}",
                               hint="nothing was installed; whoever pushed this entry must remove it from the remote") from None


def _remote_entries(repo: Repo, store) -> dict[str, str]:
    """fingerprint -> entry object id, for remote entries this repository lacks."""
    wanted = {}
    local = {fp for fp, _digest in runcache.iter_refs(repo)}
    for name in store.list_files(REMOTE_PREFIX):
        fingerprint = name.rsplit("/", 1)[-1]
        if not is_hash(fingerprint) or fingerprint in local:
            continue
        digest = (store.get_file_bytes(name) or b"").decode(errors="replace").strip()
        if is_hash(digest):
            wanted[fingerprint] = digest
    return wanted


def _layer(repo: Repo, entry: runcache.Entry, layer: str) -> list[str]:
    if layer == "manifests":
        return [p.hash for p in entry.products.values() if p.kind == "dir"]
    return _split(repo, entry)[0]


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
