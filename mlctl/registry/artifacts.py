"""Model artifacts in the store: a file is one object; a folder is a tree (store/tree.py)
listing one object per file. Versions registered before the one tree format point at the
registry's first tree form, which store/tree_legacy.py still reads.

Loading reads artifacts only from here, verified against their hashes: a file's bytes are
read and hashed in memory (nothing can swap them between check and use); a folder is
materialised under ``.mlctl/cache/models/<manifest>/`` and every file re-verified before
each load, so a tampered cache is rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from mlctl.errors import CorruptObjectError, ObjectMissingError, StoreDamageError, UsageError
from mlctl.store import hashing, tree
from mlctl.store.atomic import temp_owner_pid, temp_path_for
from mlctl.store.materialize import materialize as write_tree
from mlctl.store.repo import Repo


def put_artifact(repo: Repo, path: Path) -> dict:
    """Store a file or folder; returns the artifact description kept in the version."""
    if path.is_dir():
        digest, entries = tree.build(repo.objects, _walk(path))
        return {"hash": digest, "kind": "dir", "size": sum(e.size for e in entries),
                "files": len(entries), "filename": path.name}
    digest, size = repo.objects.put_file(path)
    return {"hash": digest, "kind": "file", "size": size, "files": 1, "filename": path.name}


def _walk(root: Path) -> list[tuple[str, Path]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                raise UsageError(f"{root.name}/{rel} is a symbolic link; copy the file into the model folder")
            out.append((rel, full))
    if not out:
        raise UsageError(f"{root} is an empty folder")
    return out


# -- reading ---------------------------------------------------------------------------------
def read_manifest(repo: Repo, digest: str) -> list[tree.Entry]:
    """A folder artifact's entries, checked (either tree form: store/tree.py)."""
    try:
        return tree.load(repo.objects, digest)
    except ObjectMissingError:
        raise ObjectMissingError(digest, what="model folder manifest") from None


def object_hashes(repo: Repo, artifact: dict) -> list[str]:
    """Every object the artifact needs (for gc and fsck); a missing manifest yields itself only."""
    if artifact.get("kind") == "dir":
        return tree.walk(repo.objects, artifact["hash"])
    return [artifact["hash"]]


def read_file_bytes(repo: Repo, artifact: dict) -> bytes:
    """A single-file artifact's bytes, verified against its hash."""
    return repo.objects.get_bytes(artifact["hash"], verify=True)


def verify(repo: Repo, artifact: dict) -> None:
    """Raise ObjectMissingError / CorruptObjectError unless every object is intact."""
    for digest in object_hashes(repo, artifact):
        if not repo.objects.exists(digest):
            raise ObjectMissingError(digest, what="model artifact")
        if not repo.objects.verify(digest):
            raise CorruptObjectError(digest)


def materialize(repo: Repo, artifact: dict) -> Path:
    """A verified copy of a folder artifact under .mlctl/cache/models/."""
    files = read_manifest(repo, artifact["hash"])
    base = repo.cache_dir / "models"
    dest = base / artifact["hash"]
    if dest.is_dir():
        if _cache_intact(dest, files):
            return dest
        shutil.rmtree(dest, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(base)
    tmp = temp_path_for(dest)
    try:
        write_tree(repo.objects, files, tmp, where=f"model folder {artifact['hash']}", readonly=True)
        with contextlib.suppress(OSError):  # another process may have built it meanwhile
            os.rename(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if not _cache_intact(dest, files):
        raise StoreDamageError(f"could not build a verified copy of model folder {artifact['hash']}")
    return dest


def _cache_intact(folder: Path, files: list[tree.Entry]) -> bool:
    for entry in files:
        try:
            if hashing.hash_file(folder / entry.path) != entry.hash:
                return False
        except OSError:
            return False
    return True


def _remove_abandoned(base: Path) -> None:
    """Temp folders of loaders that died mid-copy (gc only removes temp files)."""
    for entry in base.iterdir():
        pid = temp_owner_pid(entry.name) if entry.name.startswith(".") else None
        if pid is None or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass
