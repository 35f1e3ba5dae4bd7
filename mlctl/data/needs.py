"""Which objects a pointer needs, and a clear error naming `mlctl data pull` when some are
not in the local store."""

from __future__ import annotations

import os
from typing import Callable

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


def present(objects) -> Callable[[str], bool]:
    """A fast ``objects.exists`` for digests already checked (from a pointer or manifest):
    one stat on a string path, no pathlib, no regex."""
    root = str(objects.root)
    isfile = os.path.isfile
    return lambda digest: isfile(f"{root}/{digest[:2]}/{digest[2:]}")


def missing_objects(objects, digests: list[str]) -> list[str]:
    """The digests not in the store. Many digests against a store not much bigger than
    them: list the 256 shard folders (a few hundred syscalls) instead of one stat each."""
    if len(digests) < 2048:
        exists = present(objects)
        return [d for d in digests if not exists(d)]
    root = str(objects.root)
    try:
        sample = len(os.listdir(f"{root}/{digests[0][:2]}"))
    except FileNotFoundError:
        sample = 0
    if sample * 256 > 8 * len(digests):  # a big store: stats are cheaper than listing it all
        exists = present(objects)
        return [d for d in digests if not exists(d)]
    listed: dict[str, set[str]] = {}
    out = []
    for d in digests:
        shard = d[:2]
        names = listed.get(shard)
        if names is None:
            try:
                names = listed[shard] = set(os.listdir(f"{root}/{shard}"))
            except FileNotFoundError:
                names = listed[shard] = set()
        if d[2:] not in names:
            out.append(d)
    return out


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
        absent = missing_objects(repo.objects, file_objects(pointer, entries))
        if absent:
            raise DataMissingError(pointer.path, absent)
        out[pointer.path] = entries
    return out
