"""`mlctl data list`: every tracked path with its size, file count, hash and status."""

from __future__ import annotations

from mlctl.data.hasher import TreeHasher
from mlctl.data.status import path_status
from mlctl.data.workspace import pointer_files
from mlctl.data import pointer as pointer_mod
from mlctl.errors import UsageError
from mlctl.store.repo import Repo


def list_tracked(repo: Repo) -> list[dict]:
    """One row per pointer; a malformed pointer is listed with status "invalid" rather than
    hiding the others."""
    rows = []
    with TreeHasher(repo, store=False) as hasher:
        for rel in pointer_files(repo):
            try:
                p = pointer_mod.read(repo.root, rel)
            except UsageError as exc:
                rows.append({"path": pointer_mod.tracked_path_of(rel), "kind": None, "size": None,
                             "nfiles": None, "hash": None, "status": "invalid", "error": exc.message})
                continue
            st = path_status(repo, hasher, p)
            state = st.state if st.state != "unchanged" or st.in_store else "not_in_store"
            rows.append({**p.to_json(), "status": state, "in_store": st.in_store})
    return rows
