"""Pointer files: ``PATH.mlctl`` beside each tracked path, small YAML that git versions.

    # mlctl data pointer: commit this file; `mlctl data checkout` restores the data
    path: raw
    kind: dir
    hash: 1f0c0e5a1b9d4f0f8e7d6c5b4a392817
    size: 1024000000
    nfiles: 20000

``path`` is the tracked name relative to the pointer's folder and must equal the pointer's
own name without ``.mlctl`` (so a pointer can never aim outside its folder, and moving both
together keeps them paired). Pointers are user input: anything malformed is exit 2; a
tracked path the path resolver refuses (``.git.mlctl``, a control character, a symlinked
folder leading out: store/paths.py) is exit 3, as any hostile stored path is.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from mlctl.errors import UsageError
from mlctl.store import paths
from mlctl.store.atomic import atomic_write_text
from mlctl.store.hashing import is_hash

SUFFIX = ".mlctl"
HEADER = "# mlctl data pointer: commit this file; `mlctl data checkout` restores the data\n"
KINDS = ("file", "dir")
FIELDS = ("path", "kind", "hash", "size", "nfiles")


@dataclass(frozen=True)
class Pointer:
    path: str  # workspace-relative posix path of the tracked file or folder
    hash: str  # the file's content hash, or the folder manifest's hash
    size: int
    nfiles: int
    kind: str  # "file" or "dir"

    @property
    def pointer_path(self) -> str:
        return self.path + SUFFIX

    def to_json(self) -> dict:
        return asdict(self)


class PointerError(UsageError):
    def __init__(self, where: str, problem: str):
        super().__init__(f"pointer {where} is invalid: {problem}",
                         hint="restore it with `git checkout -- <pointer>` or re-run `mlctl data add`")


def tracked_path_of(pointer_rel: str) -> str:
    return pointer_rel[: -len(SUFFIX)]


def dumps(pointer: Pointer) -> str:
    import yaml

    doc = {"path": PurePosixPath(pointer.path).name, "kind": pointer.kind, "hash": pointer.hash,
           "size": pointer.size, "nfiles": pointer.nfiles}
    return HEADER + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=10_000)


def parse(text: str | bytes, pointer_rel: str, where: str | None = None) -> Pointer:
    """Check and parse a pointer file found at workspace-relative ``pointer_rel``."""
    import yaml

    expected = tracked_path_of(pointer_rel)
    where = where or pointer_rel
    paths.check(expected, f"pointer {where}")
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PointerError(where, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise PointerError(where, "not a YAML map (truncated?)")
    missing = [f for f in FIELDS if f not in doc]
    if missing:
        raise PointerError(where, f"missing {', '.join(missing)} (truncated?)")
    unknown = sorted(set(map(str, doc)) - set(FIELDS))
    if unknown:
        raise PointerError(where, f"unknown field {unknown[0]}")
    return _checked(doc, where, expected)


def _checked(doc: dict, where: str, expected: str) -> Pointer:
    name = doc["path"]
    if not isinstance(name, str) or "/" in name or "\\" in name or name in ("", ".", "..") or "\0" in name:
        raise PointerError(where, f"path {name!r} must be a plain name beside the pointer (no / or ..)")
    if name != PurePosixPath(expected).name:
        raise PointerError(where, f"path {name!r} does not match the pointer's name")
    if doc["kind"] not in KINDS:
        raise PointerError(where, f"kind must be file or dir, not {doc['kind']!r}")
    if not is_hash(doc["hash"]):
        raise PointerError(where, "hash must be 32 lowercase hex digits")
    for field in ("size", "nfiles"):
        if not isinstance(doc[field], int) or isinstance(doc[field], bool) or doc[field] < 0:
            raise PointerError(where, f"{field} must be a non-negative integer")
    if doc["kind"] == "file" and doc["nfiles"] != 1:
        raise PointerError(where, "a file pointer has nfiles 1")
    return Pointer(expected, doc["hash"], doc["size"], doc["nfiles"], doc["kind"])


def read(root: os.PathLike | str, pointer_rel: str) -> Pointer:
    path = paths.resolve(root, tracked_path_of(pointer_rel), f"pointer {pointer_rel}").with_name(
        os.path.basename(pointer_rel))
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 16)
    except FileNotFoundError:
        raise UsageError(f"no pointer {pointer_rel}") from None
    return parse(data, pointer_rel)


def write(root: os.PathLike | str, pointer: Pointer) -> None:
    """Replace the pointer file atomically (the last step of every add and checkout --rev)."""
    target = paths.resolve(root, pointer.path, "pointer")
    atomic_write_text(f"{target}{SUFFIX}", dumps(pointer))
