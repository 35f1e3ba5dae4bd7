"""Artifacts: files and folders a run produced, stored in the content-addressed store.

A run's ``artifacts`` is a tree (store/tree.py) listing every artifact file under its
relative name (``model.pkl``, ``plots/roc.png``); the run keeps the tree's hash. The
files are written (fsynced) before the tree, the tree before the run refers to it.
Runs recorded before the one tree format keep a flat map (relative name -> hash) in
their place, still read (store/tree_legacy.py); ``{}`` is a run without artifacts.
Readers see one thing either way: ``artifact_map`` (name -> hash), ``artifact_entries``
(tree entries) and ``artifact_objects`` (what gc keeps and push/pull carry).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from mlctl.errors import StoreDamageError, UsageError
from mlctl.store import tree, tree_legacy
from mlctl.store.hashing import is_hash
from mlctl.store.materialize import materialize
from mlctl.store.repo import check_relpath

NONE: dict = {}  # the artifacts of a run that has none (the form every mlctl reads)


def log_artifact(repo, run_id: str, path: str | os.PathLike, name: str | None = None) -> dict[str, str]:
    """Store a file (or every file of a folder) and attach it to the run under ``name``
    (default: the file or folder name); returns {relpath: hash} of what was added."""
    from mlctl.tracking.writes import update_json_column

    added = store_artifact(repo, path, name)
    update_json_column(repo, run_id, "artifacts", lambda current: _with(repo, current, added))
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
    added = []
    for relpath, file in files:
        try:
            digest, size = repo.objects.put_file(file)
        except PermissionError:
            raise UsageError(f"artifact {file} is not readable") from None
        added.append(tree.Entry(relpath, digest, size, tree.file_mode(os.stat(file).st_mode)))
    return added


def _with(repo, current, added: list[tree.Entry]):
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


# -- reading: either form ---------------------------------------------------------------
def check_value(value, where: str):
    """A run's ``artifacts`` as read from a record or a remote: a tree hash or a flat map
    of hashes (paths are checked when the entries are read)."""
    if isinstance(value, str) and is_hash(value):
        return value
    if tree_legacy.is_flat_map(value) and all(isinstance(h, str) and is_hash(h) for h in value.values()):
        return value
    raise StoreDamageError(f"{where} has malformed artifacts")


def artifact_entries(repo, value, check: bool = True) -> list[tree.Entry]:
    """The run's artifacts as tree entries (an old flat map: sizes from the store, 0 for
    objects not here). ``check=False`` skips the clash check of an old map (a run that
    logged ``m`` and then ``m/x`` before trees existed keeps listing both)."""
    if not tree_legacy.is_flat_map(value):
        return tree.load(repo.objects, value)
    rows = tree_legacy.flat_map_rows(value, lambda h: repo.objects.size(h) if repo.objects.exists(h) else 0)
    return tree.from_rows(rows, "run artifacts") if check else [tree.Entry(*row) for row in rows]


def artifact_map(repo, value) -> dict[str, str]:
    """Relative name -> object hash (what `run show` and `run artifacts` list)."""
    if tree_legacy.is_flat_map(value):
        return dict(value)
    return {e.path: e.hash for e in tree.load(repo.objects, value)}


def artifact_objects(repo, value) -> list[str]:
    """Every object the run's artifacts need, the tree first (gc, fsck, push)."""
    if tree_legacy.is_flat_map(value):
        return list(value.values())
    return tree.walk(repo.objects, value)


def restore_artifacts(repo, run, dest: str | os.PathLike, names: list[str] | None = None) -> list[str]:
    """Copy a run's artifacts (or those under ``names``) into ``dest``, verified."""
    entries = artifact_entries(repo, run.artifacts_value)
    chosen = [e for e in entries
              if not names or any(e.path == n or e.path.startswith(n.rstrip("/") + "/") for n in names)]
    if names and not chosen:
        raise UsageError(f"run {run.id} has no artifact named {', '.join(names)}")
    written = materialize(repo.objects, chosen, dest, where=f"run {run.id} artifact")
    return [str(path) for path in written]
