"""Which objects a pointer needs, and a clear error naming `mlctl data pull` when some are
not in the local store."""

from __future__ import annotations

from mlctl.data import manifest
from mlctl.data.pointer import Pointer
from mlctl.errors import ObjectMissingError
from mlctl.store.repo import Repo


class DataMissingError(ObjectMissingError):
    def __init__(self, path: str, digests: list[str]):
        super().__init__(digests[0])
        count = f"{len(digests)} objects" if len(digests) > 1 else "an object"
        self.message = f"{path} needs {count} not in the local store (e.g. {digests[0]})"
        self.args = (self.message,)
        self.digests = digests


def entries_of(repo: Repo, pointer: Pointer) -> list[manifest.Entry] | None:
    """A folder pointer's manifest entries (None for a file); DataMissingError if the
    manifest itself is not here."""
    if pointer.kind != "dir":
        return None
    try:
        return manifest.load(repo.objects, pointer.hash)
    except ObjectMissingError:
        raise DataMissingError(pointer.path, [pointer.hash]) from None


def file_objects(pointer: Pointer, entries: list[manifest.Entry] | None) -> list[str]:
    """The content objects (not the manifest) the pointer's files need, without repeats."""
    if entries is None:
        return [pointer.hash]
    return list(dict.fromkeys(e.hash for e in entries))


def require(repo: Repo, pointers: list[Pointer]) -> dict[str, list[manifest.Entry] | None]:
    """Every pointer's entries, after checking all their objects are present."""
    out = {}
    for pointer in pointers:
        entries = entries_of(repo, pointer)
        absent = [d for d in file_objects(pointer, entries) if not repo.objects.exists(d)]
        if absent:
            raise DataMissingError(pointer.path, absent)
        out[pointer.path] = entries
    return out
