"""Artifacts: files and folders a run produced, stored in the content-addressed store.

A run's ``artifacts`` is a tree (store/tree.py) listing every artifact file under its
relative name (``model.pkl``, ``plots/roc.png``); the run keeps the tree's hash. The
files are written (fsynced) before the tree, the tree before the run refers to it.
Runs recorded before the one tree format keep a flat map (relative name -> hash) in
their place, still read (store/tree_legacy.py); ``{}`` is a run without artifacts.
Readers see one thing either way (tracking/artifact_trees.py).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from mlctl.errors import StoreDamageError, UsageError
from mlctl.store import tree
from mlctl.store.materialize import materialize
from mlctl.store.repo import check_relpath
from mlctl.tracking.artifact_trees import artifact_entries, fetch_files
from mlctl.tracking.writes import update_json_column

NONE: dict = {}  # the artifacts of a run that has none (the form every mlctl reads)


def log_artifact(repo, run_id: str, path: str | os.PathLike, name: str | None = None) -> dict[str, str]:
    """Store a file (or every file of a folder) and attach it to the run under ``name``
    (default: the file or folder name); returns {relpath: hash} of what was added."""
    added = store_artifact(repo, path, name)
    update_json_column(repo, run_id, "artifacts", lambda current: merge_entries(repo, current, added))
    return {e.path: e.hash for e in added}


def store_artifacts(repo, paths) -> str | dict:
    """Put several artifacts in the object store, then their tree (not yet attached to any
    run); returns the run's ``artifacts`` value: the tree's hash, or NONE."""
    entries: dict[str, tree.Entry] = {}
    for path in paths:
        entries.update((e.path, e) for e in store_artifact(repo, path))
    return _tree_value(repo, list(entries.values()))


def store_artifact(repo, path: str | os.PathLike, name: str | None = None) -> list[tree.Entry]:
    """Store one file or folder's files as tree entries under ``name`` (no tree yet)."""
    source = Path(path)
    if not source.exists():
        raise UsageError(f"artifact {path} does not exist")
    base = _artifact_name(name if name is not None else source.name)
    files = [(base, source)] if source.is_file() else _folder_files(source, base)
    if not files:
        raise UsageError(f"artifact folder {path} holds no files")
    tree.check_names([relpath for relpath, _file in files], f"artifact {path}")
    added = []
    for relpath, file in files:
        try:
            digest, size = repo.objects.put_file(file)
        except PermissionError:
            raise UsageError(f"artifact {file} is not readable") from None
        added.append(tree.Entry(relpath, digest, size, tree.file_mode(os.stat(file).st_mode)))
    return added


def merge_entries(repo, current, added: list[tree.Entry]):
    """The run's artifacts ``current`` with ``added`` (same names replaced), as a new tree."""
    merged = {e.path: e for e in artifact_entries(repo, current, check=False)}
    merged.update((e.path, e) for e in added)
    try:
        tree.check_conflicts(list(merged))
    except StoreDamageError:
        raise UsageError(f"artifact {added[0].path.split('/')[0]!r} clashes with one the run already has "
                         "(a file and a folder of the same name)") from None
    return _tree_value(repo, list(merged.values()))


def _tree_value(repo, entries: list[tree.Entry]) -> str | dict:
    return tree.store(repo.objects, entries) if entries else NONE


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
    entries = artifact_entries(repo, run.artifacts_value, what=f"run {run.id}")
    chosen = [e for e in entries
              if not names or any(e.path == n or e.path.startswith(n.rstrip("/") + "/") for n in names)]
    if names and not chosen:
        raise UsageError(f"run {run.id} has no artifact named {', '.join(names)}")
    fetch_files(repo, [e.hash for e in chosen], f"the artifacts of run {run.id}")
    written = materialize(repo.objects, chosen, dest, where=f"run {run.id} artifact")
    return [str(path) for path in written]
