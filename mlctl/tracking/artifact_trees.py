"""Reading a run's artifacts, whichever form the run keeps: a tree hash (store/tree.py),
or the flat map (relative name -> hash) of runs recorded before trees (store/tree_legacy.py;
``{}`` is a run without artifacts). Writing them is tracking/artifacts.py.
"""

from __future__ import annotations

from mlctl.errors import StoreDamageError
from mlctl.store import tree, tree_legacy
from mlctl.store.hashing import is_hash


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
