"""Which data version each validated dataset was: recorded with every validation, so that
`mlctl lineage` and the dashboard can show a data version's last validation.

One entry per dataset, ``{"target", "rev", "path", "hash", "tracked_hash", "state"}``:

- ``state: "stored"``: read from the store (at a revision, or a tracked path not checked
  out); ``hash`` is the pointer's hash (for a file inside a tracked folder, that file's hash
  in the folder's manifest);
- ``"tracked"``: the workspace, and it holds exactly the tracked version (``hash`` equals
  ``tracked_hash``, the workspace pointer's);
- ``"modified"``: the workspace differs from its pointer; ``hash`` is what `mlctl data add`
  would record for it now, so once those bytes are added the version has this validation;
- ``"untracked"``: a workspace path no pointer covers; ``hash`` as `data add` would record it;
- ``"glob"``: a glob names several files; no single version, no hash.

The workspace hash comes through the stat cache (`data status`'s), so an unchanged tracked
path costs only ``stat`` calls; only a changed file is read again (validation has just read
it once, so this at most doubles the I/O of a modified dataset).
"""

from __future__ import annotations

import posixpath

from mlctl.data import api as data  # names looked up on use: `mlctl status` reads records without hashing
from mlctl.errors import MlctlError
from mlctl.validation.sources import has_glob


def data_versions(repo, result) -> list[dict]:
    """The data version of each dataset of ``result`` (a ValidationResult), in its order."""
    return [version_of(repo, d.target, d.rev) for d in result.datasets]


def version_of(repo, target: str, rev: str | None) -> dict:
    entry = {"target": target, "rev": rev, "path": None, "hash": None, "tracked_hash": None, "state": "glob"}
    if has_glob(target):
        return entry
    rel = posixpath.normpath(target.strip().rstrip("/"))
    entry["path"] = rel
    tracked = _tracked_hash(repo, rel, rev)
    entry["tracked_hash"] = tracked
    if rev is not None:
        return {**entry, "hash": tracked, "state": "stored"}
    digest = _workspace_hash(repo, rel)
    if digest is None and tracked is not None:  # not checked out: validation read the pointer's object
        return {**entry, "hash": tracked, "state": "stored"}
    state = "untracked" if tracked is None else ("tracked" if digest == tracked else "modified")
    return {**entry, "hash": digest, "state": state}


def _tracked_hash(repo, rel: str, rev: str | None) -> str | None:
    """The pointer's hash for ``rel`` (at ``rev``, else the workspace pointer's); a file inside
    a tracked folder: its hash in the folder's manifest. None when nothing tracks it."""
    try:
        pointer, inner = data.find_pointer(repo, rel, rev)
        if inner is None:
            return pointer.hash
        return next((e["hash"] for e in data.manifest_entries(repo, pointer.hash) if e["path"] == inner), None)
    except (MlctlError, OSError):  # untracked, or the manifest is not in this store: no version to name
        return None


def _workspace_hash(repo, rel: str) -> str | None:
    try:
        with data.TreeHasher(repo, store=False) as hasher:
            return hasher.hash_path(rel)[0].hash
    except (MlctlError, OSError):  # removed since it was read: the record keeps no hash
        return None
