"""Artifacts: files and folders a run produced, stored in the content-addressed store.

A run's ``artifacts`` maps a relative name (``model.pkl``, ``plots/roc.png``) to the
object hash; the object is written (fsynced) before the run refers to it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from mlctl.errors import UsageError
from mlctl.store import paths
from mlctl.store.repo import check_relpath


def log_artifact(repo, run_id: str, path: str | os.PathLike, name: str | None = None) -> dict[str, str]:
    """Store a file (or every file of a folder) and attach it to the run under ``name``
    (default: the file or folder name); returns {relpath: hash} of what was added."""
    from mlctl.tracking.writes import merge_json_column

    added = store_artifact(repo, path, name)
    merge_json_column(repo, run_id, "artifacts", added)
    return added


def store_artifacts(repo, paths) -> dict[str, str]:
    """Put several artifacts in the object store (not yet attached to any run)."""
    out: dict[str, str] = {}
    for path in paths:
        out.update(store_artifact(repo, path))
    return out


def store_artifact(repo, path: str | os.PathLike, name: str | None = None) -> dict[str, str]:
    source = Path(path)
    if not source.exists():
        raise UsageError(f"artifact {path} does not exist")
    base = _artifact_name(name if name is not None else source.name)
    files = [(base, source)] if source.is_file() else _folder_files(source, base)
    if not files:
        raise UsageError(f"artifact folder {path} holds no files")
    added = {}
    for relpath, file in files:
        try:
            digest, _size = repo.objects.put_file(file)
        except PermissionError:
            raise UsageError(f"artifact {file} is not readable") from None
        added[relpath] = digest
    return added


def _artifact_name(name: str) -> str:
    cleaned = PurePosixPath(str(name).replace("\\", "/")).as_posix().strip("/")
    try:
        return check_relpath(cleaned)
    except Exception:
        raise UsageError(f"invalid artifact name: {name!r} (a relative path without '..')") from None


def _folder_files(folder: Path, base: str) -> list[tuple[str, Path]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fname in sorted(filenames):
            file = Path(dirpath, fname)
            rel = file.relative_to(folder).as_posix()
            out.append((f"{base}/{rel}", file))
    return out


def restore_artifacts(repo, run, dest: str | os.PathLike, names: list[str] | None = None) -> list[str]:
    """Copy a run's artifacts (or those under ``names``) into ``dest``, verified."""
    chosen = {rel: digest for rel, digest in run.artifacts.items()
              if not names or any(rel == n or rel.startswith(n.rstrip("/") + "/") for n in names)}
    if names and not chosen:
        raise UsageError(f"run {run.id} has no artifact named {', '.join(names)}")
    written = []
    for rel, digest in sorted(chosen.items()):
        target = paths.resolve(dest, rel, source=f"run {run.id} artifact")
        repo.objects.copy_to(digest, target)
        written.append(str(target))
    return written
