"""A teammate's version on a team backend (store/elsewhere.py): the registry names it
from the moment it is registered, while its files reach this clone only through the
default remote. Loading such a version (`serve` following an alias, `load_model`, a
retrain's evaluation) fetches its files first: the artifact, then for a folder the files
its manifest lists.
"""

from __future__ import annotations

from mlctl.registry import artifacts
from mlctl.store import elsewhere
from mlctl.store.repo import Repo


def fetch_files(repo: Repo, artifact: dict, what: str) -> int:
    """Fetch the artifact's objects this clone lacks (on a team backend only)."""
    if not elsewhere.on_backend(repo):
        return 0  # before object_hashes: it reads a folder's manifest on every load
    hint = f"the clone that registered {what} runs `mlctl model push`"
    arrived = elsewhere.fetch(repo, [artifact["hash"]], f"the files of {what}", hint)
    if artifact.get("kind") == "dir":
        arrived += elsewhere.fetch(repo, artifacts.object_hashes(repo, artifact), f"the files of {what}", hint)
    return arrived
