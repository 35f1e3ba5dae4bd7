"""Trees: the one folder format of the store, for tracked data folders, model folders and
run artifacts (docs/store-format.md, "Trees").

A tree is canonical JSON (sorted keys, no spaces) with its entries sorted by path:

    {"files":[["a/b.jpg","<hash>",51200,420],...],"kind":"mlctl.manifest","version":1}

Each row is (path relative to the folder, content hash, size, mode). ``mode`` keeps only
what git keeps, executable (0o755) or not (0o644), so the same folder hashes the same on
every machine whatever the umask; a symlink (0o120000) or an empty folder (0o040000).
The folder's hash is the tree object's hash. (The kind keeps its first name,
``mlctl.manifest``: the bytes name every folder already stored.)

Build (``build``, ``store``), read (``load``, validated: every path through the checked
resolver store/paths.py, hostile trees refused), walk (``walk``, ``hashes``: the objects a
tree needs, for gc, fsck and push/pull); writing one out is store/materialize.py. Older
forms (the registry's first model-folder tree) are read by store/tree_legacy.py.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import NamedTuple

from mlctl.errors import StoreDamageError, UsageError
from mlctl.store import paths, tree_legacy
from mlctl.store.hashing import is_hash
from mlctl.store.records import load_record, parse_json

KIND = "mlctl.manifest"
VERSION = 1
EXEC_MODE, FILE_MODE = 0o755, 0o644
LINK_MODE = 0o120000  # git's mode for a symlink: the object holds the link's target text
DIR_MODE = 0o040000  # an empty folder (git's tree mode): the object is the empty one, size 0
MODES = frozenset({EXEC_MODE, FILE_MODE, LINK_MODE, DIR_MODE})


class Entry(NamedTuple):  # a tuple: 20,000 of them build in milliseconds
    path: str
    hash: str
    size: int
    mode: int = FILE_MODE

    def to_json(self) -> dict:
        return {"path": self.path, "hash": self.hash, "size": self.size, "mode": self.mode}


def file_mode(st_mode: int) -> int:
    return EXEC_MODE if st_mode & 0o111 else FILE_MODE


def entry_mode(work_file) -> int:
    """A listed workspace entry's manifest mode: link, empty folder, or file."""
    if work_file.target is not None:
        return LINK_MODE
    return DIR_MODE if stat.S_ISDIR(work_file.st.st_mode) else file_mode(work_file.st.st_mode)


def encode(entries: list[Entry]) -> bytes:
    """Canonical bytes (so equal folders hash equal): sorted rows, sorted keys, compact,
    UTF-8. orjson writes exactly what ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` does (a property test holds it to that), ten times faster. Not
    store.records.canonical, which escapes non-ASCII: a folder's hash (in every pointer
    committed to git) is these bytes, so they must not change."""
    import orjson

    rows = sorted(([e.path, e.hash, e.size, e.mode] for e in entries), key=lambda r: r[0])
    return orjson.dumps({"files": rows, "kind": KIND, "version": VERSION}, option=orjson.OPT_SORT_KEYS)


def decode(data: bytes, digest: str = "?") -> list[Entry]:
    """Parse a manifest, refusing anything that could point outside its folder (store/paths.py
    rules) or that holds a path twice or both as a file and as a folder (``E11`` and
    ``E11/x``): every reader gets only manifests that a checkout can carry out."""
    doc = parse_json(data, f"folder manifest {digest}")
    if not isinstance(doc, dict):
        raise StoreDamageError(f"object {digest} is not a folder manifest")
    if tree_legacy.is_registry_tree(doc):
        return from_rows(tree_legacy.registry_rows(doc, digest), digest)
    doc = load_record(doc, KIND, f"folder manifest {digest}", versions=(VERSION,))
    if not isinstance(doc.get("files"), list):
        raise StoreDamageError(f"object {digest} is not a folder manifest")
    rows = doc["files"]
    entries = [Entry(*row) for row in rows] if _all_valid(rows) else [_entry(row, digest) for row in rows]
    check_conflicts([e.path for e in entries], digest)
    return entries


_BAD_PART = re.compile(r"(?:^|[/\0])\.(?:\.?|git|mlctl)[. ]*(?:[/\0]|$)", re.IGNORECASE)


def _all_valid(rows: list) -> bool:
    """True when every row would pass ``_entry``, checked column by column in C-speed
    passes (a 20,000-file manifest in a few ms instead of 30). Rare names (not ASCII, or
    with a ``~`` that could be a Windows short name) go to the row-by-row check."""
    if not all(type(row) is list and len(row) == 4 for row in rows):
        return False
    if not rows:
        return True
    paths_, hashes, sizes, modes = zip(*rows)
    if not (all(type(p) is str and p for p in paths_) and all(type(h) is str and len(h) == 32 for h in hashes)
            and all(type(n) is int for n in sizes) and min(sizes) >= 0 and set(modes) <= MODES):
        return False
    try:
        if "".join(hashes).encode("ascii").translate(None, b"0123456789abcdef"):
            return False
    except UnicodeEncodeError:
        return False
    joined = "\0".join(paths_)
    if not (joined.isascii() and joined.replace("\0", "/").isprintable()) or "~" in joined:
        return False  # ASCII and printable: no control character (a NUL shows in the count below)
    dotted = joined[0] == "." or "/." in joined or "\0." in joined  # any part that starts with a dot
    return (joined.count("\0") == len(paths_) - 1 and "\\" not in joined and "//" not in joined
            and "\0/" not in joined and "/\0" not in joined and joined[0] != "/" and joined[-1] != "/"
            and not (dotted and _BAD_PART.search(joined)))


def from_rows(rows: list, digest: str = "?") -> list[Entry]:
    """Entries from rows of another form (tree_legacy.py), checked like a read tree's."""
    entries = [_entry(row, digest) for row in rows]
    check_conflicts([e.path for e in entries], digest)
    return entries


def _entry(row, digest: str) -> Entry:
    if not (isinstance(row, list) and len(row) == 4):
        raise StoreDamageError(f"manifest {digest} has a malformed row")
    path, hash_, size, mode = row
    if not (type(size) is int and size >= 0 and mode in MODES and is_hash(hash_)):
        raise StoreDamageError(f"manifest {digest} has a malformed row for {path!r}")
    check_member(path, digest)
    return Entry(path, hash_, size, mode)


def check_member(path, digest: str = "?") -> str:
    """Refuse paths that could leave the folder or touch .git/.mlctl (store/paths.py)."""
    found = paths.problem(path)
    if found:
        raise StoreDamageError(f"manifest {digest} holds an unsafe path {path!r}: {found}")
    return path


def check_conflicts(members: list[str], digest: str = "?") -> None:
    """Refuse a manifest that lists a path twice, or as a file and as a folder holding
    others (a checkout could not write both; a crafted one would write through a link)."""
    seen = set(members)
    if len(seen) != len(members):
        dup = next(p for p in sorted(members) if members.count(p) > 1)
        raise StoreDamageError(f"manifest {digest} lists {dup!r} twice")
    folders = {p.rpartition("/")[0] for p in members} - {""}
    for folder in list(folders):
        while "/" in folder:
            folder = folder.rpartition("/")[0]
            folders.add(folder)
    clash = seen & folders
    if clash:
        name = min(clash)
        inner = min(p for p in members if p.startswith(name + "/"))
        raise StoreDamageError(f"manifest {digest} holds {name!r} both as a file and as the folder of {inner!r}",
                               hint="the folder cannot be checked out; re-add it from a good copy")


def hashes(objects, digest: str, verify: bool = True) -> list[str]:
    """Only the content hashes a manifest lists (verified object unless ``verify=False``,
    hashes checked): the cheap way to ask whether a folder's objects are all in the store."""
    try:
        doc = json.loads(objects.get_bytes(digest, verify=verify))
        rows = doc["files"]
        out = ([row["hash"] for row in rows] if tree_legacy.is_registry_tree(doc)
               else [row[1] for row in rows])
    except (ValueError, KeyError, TypeError, IndexError):
        raise StoreDamageError(f"object {digest} is not a folder manifest") from None
    if not all(type(h) is str and len(h) == 32 and h.isalnum() for h in out):  # safe to build paths from
        raise StoreDamageError(f"manifest {digest} has a malformed hash")
    return out


def load(objects, digest: str, verify: bool = True) -> list[Entry]:
    """The entries of manifest ``digest`` from the store (ObjectMissingError if absent)."""
    return decode(objects.get_bytes(digest, verify=verify), digest)


def store(objects, entries: list[Entry]) -> str:
    return objects.put_bytes(encode(entries))


def build(objects, files: list[tuple[str, Path]]) -> tuple[str, list[Entry]]:
    """Store each listed file (its path in the tree, where it is now) and then the tree
    listing them (objects before the tree that names them); returns (tree hash, entries).
    Paths are checked first (``check_names``), so a tree that is written can be read back."""
    check_names([rel for rel, _full in files], "folder")
    entries = []
    for rel, full in files:
        digest, size = objects.put_file(full)
        entries.append(Entry(rel, digest, size, file_mode(os.stat(full).st_mode)))
    check_conflicts([e.path for e in entries])
    return store(objects, entries), entries


def check_names(members: list[str], source: str) -> None:
    """Refuse, as the user's input (exit 2), a name no tree may hold (store/paths.py rules:
    what ``decode`` would refuse on reading), before anything is stored."""
    for member in members:
        found = paths.problem(member)
        if found:
            raise UsageError(f"{source}: cannot store {member!r}: {found}",
                             hint="rename it, or leave it out of what is stored")


def walk(objects, digest: str) -> list[str]:
    """Every object tree ``digest`` needs, the tree first (for gc, fsck and push): a tree
    that is not here, or is damaged, yields itself alone (fsck names it, gc keeps it)."""
    if not objects.exists(digest):
        return [digest]
    try:
        return [digest, *hashes(objects, digest, verify=False)]
    except StoreDamageError:
        return [digest]
