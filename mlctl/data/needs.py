"""Which objects a pointer needs, and a clear error naming the `mlctl data pull` that
fetches them when some are not in the local store."""

from __future__ import annotations

import os
import re
import shlex
import time
from typing import Callable

from mlctl.data.pointer import Pointer
from mlctl.errors import ObjectMissingError
from mlctl.store import hashing, tree
from mlctl.store.repo import Repo
from mlctl.store.statcache import RACY_COARSE_NS, RACY_NS


_SAFE = re.compile(r"[\w@%+=:,./~^-]+")


class DataMissingError(ObjectMissingError):
    def __init__(self, path: str, digests: list[str], rev: str | None = None):
        super().__init__(digests[0], hint=f"run `{pull_command(path, rev=rev)}` to fetch it from the remote")
        count = f"{len(digests)} objects" if len(digests) > 1 else "an object"
        at = f" at {rev}" if rev else ""
        self.message = f"{path}{at} needs {count} not in the local store (e.g. {digests[0]})"
        self.args = (self.message,)
        self.digests = digests


def pull_command(*paths: str, rev: str | None = None) -> str:
    """The command that fetches the data of ``paths``: of the workspace's pointers, or of
    ``rev``'s (a plain `data pull` fetches only the workspace's versions, so an older one
    needs --rev), shell-quoted to be pasted."""
    words = ["mlctl", "data", "pull", *(["--rev", rev] if rev else []), *paths]
    return " ".join(_quote(w) for w in words)


def _quote(word: str) -> str:
    """shlex.quote, but leaving `~` and `^` inside a word bare (``HEAD~1`` is safe
    there, and the hint reads like what a user would type)."""
    if word and not word.startswith("~") and _SAFE.fullmatch(word):
        return word
    return shlex.quote(word)


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


def store_fingerprint(objects, now_ns: int) -> str | None:
    """One hash over the object folders' identities and change times. Adding or removing
    an object changes its folder's ctime (which no one can set back), so while this
    fingerprint stays the same, no object came or went. None when a folder changed too
    recently for its ctime to be trusted (the clock's tick, as for the stat cache)."""
    parts = []
    try:
        with os.scandir(objects.root) as it:
            for entry in it:
                if len(entry.name) != 2 or not entry.is_dir(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
                coarse = st.st_ctime_ns % 1_000_000_000 == 0
                if st.st_ctime_ns >= now_ns - (RACY_COARSE_NS if coarse else RACY_NS):
                    return None
                parts.append(f"{entry.name}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}")
    except FileNotFoundError:
        return None
    return hashing.hash_bytes("\n".join(sorted(parts)).encode())


def missing_from_manifest(objects, cache, manifest_digest: str, hashes: Callable[[], list[str]]) -> list[str]:
    """``missing_objects`` for a manifest's objects, remembering a complete answer in the
    stat cache against the store's fingerprint, so an unchanged store answers without a
    listing (and without ``hashes()``)."""
    fingerprint = store_fingerprint(objects, time.time_ns())
    if cache.complete(manifest_digest, fingerprint):
        return []
    absent = missing_objects(objects, hashes())
    if not absent:
        cache.record_complete(manifest_digest, fingerprint)
    return absent


def entries_of(repo: Repo, pointer: Pointer, rev: str | None = None) -> list[tree.Entry] | None:
    """A folder pointer's manifest entries (None for a file); DataMissingError if the
    manifest itself is not here (``rev``: the revision the pointer is from, for the hint)."""
    if pointer.kind != "dir":
        return None
    try:
        return tree.load(repo.objects, pointer.hash)
    except ObjectMissingError:
        raise DataMissingError(pointer.path, [pointer.hash], rev) from None


def file_objects(pointer: Pointer, entries: list[tree.Entry] | None) -> list[str]:
    """The content objects (not the manifest) the pointer's files need, without repeats."""
    if entries is None:
        return [pointer.hash]
    return list(dict.fromkeys(e.hash for e in entries))


def require(repo: Repo, pointers: list[Pointer], cache=None,
            rev: str | None = None) -> dict[str, list[tree.Entry] | None]:
    """Every pointer's entries, after checking all their objects are present (with a stat
    cache, a folder already found complete in an unchanged store is not checked again).
    ``rev``: the revision the pointers are from (None: the workspace), for the hint."""
    out = {}
    for pointer in pointers:
        entries = entries_of(repo, pointer, rev)
        needed = file_objects(pointer, entries)
        if cache is not None and entries is not None:
            absent = missing_from_manifest(repo.objects, cache, pointer.hash, lambda: needed)
        else:
            absent = missing_objects(repo.objects, needed)
        if absent:
            raise DataMissingError(pointer.path, absent, rev)
        out[pointer.path] = entries
    return out
