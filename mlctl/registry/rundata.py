"""A signature from the data a run used: the first CSV/parquet file among the run's
tracked data (files, or files inside tracked folders) whose columns fit the model.

The run recorded content hashes, so the file is read from the store object of exactly that
version (or from the workspace when it still has that content): later edits to the
workspace file don't change what the model was trained on.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator

from mlctl.errors import MlctlError, UsageError
from mlctl.registry import signatures
from mlctl.store import hashing
from mlctl.store.repo import Repo

MAX_FOLDER_FILES = 20  # tabular files tried inside one tracked folder
_MANIFEST_START = b'{"files":'


def signature_from_run(repo: Repo, info, target: str | None, data: dict) -> tuple[dict | None, list[str]]:
    notes = []
    for rel, digest in sorted(data.items()):
        for shown, path in _candidates(repo, rel, digest):
            try:
                cols = signatures.columns_of(path, shown, name_hint=shown)
                return signatures.from_columns(cols, info, target, "run data", shown), []
            except UsageError as exc:
                notes.append(f"signature not taken from the run's {shown}: {exc.message}")
    return None, notes


def _candidates(repo: Repo, rel: str, digest) -> Iterator[tuple[str, Path]]:
    if not hashing.is_hash(digest):
        return
    entries = _folder_entries(repo, digest)
    if entries is None:
        found = _file(repo, rel, digest) if signatures.is_tabular(rel) else None
        if found is not None:
            yield rel, found
        return
    tabular = [e for e in entries if signatures.is_tabular(e["path"])][:MAX_FOLDER_FILES]
    for entry in tabular:
        shown = f"{rel}/{entry['path']}"
        found = _file(repo, shown, entry["hash"])
        if found is not None:
            yield shown, found


def _folder_entries(repo: Repo, digest: str) -> list[dict] | None:
    """The files of a tracked folder version, or None when ``digest`` is not a folder."""
    if not repo.objects.exists(digest):
        return None
    with open(repo.objects.path(digest), "rb") as f:
        if f.read(len(_MANIFEST_START)) != _MANIFEST_START:
            return None
    if importlib.util.find_spec("mlctl.data") is None:
        return None
    from mlctl.data import api

    try:
        return api.manifest_entries(repo, digest)
    except MlctlError:
        return None


def _file(repo: Repo, rel: str, digest: str) -> Path | None:
    if not hashing.is_hash(digest):
        return None
    if repo.objects.exists(digest):
        return repo.objects.path(digest)
    try:
        local = repo.workspace_path(rel)
        if local.is_file() and hashing.hash_file(local) == digest:
            return local
    except MlctlError:  # a damaged or foreign path in a run record: just don't use it
        return None
    return None
