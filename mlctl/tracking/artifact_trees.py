"""Reading a run's artifacts, whichever form the run keeps: a tree hash (store/tree.py),
or the flat map (relative name -> hash) of runs recorded before trees (store/tree_legacy.py;
``{}`` is a run without artifacts). Writing them is tracking/artifacts.py.

On a team backend a teammate's run is a row here before its objects are: its tree and
files come from the default remote when read (store/elsewhere.py), once the clone that
logged the run pushed them.
"""

from __future__ import annotations

from mlctl.errors import MlctlError, StoreDamageError
from mlctl.store import elsewhere, tree, tree_legacy
from mlctl.store.hashing import is_hash

PUSH_HINT = "the clone that logged the run runs `mlctl run push`"


def check_value(value, where: str):
    """A run's ``artifacts`` as read from a record or a remote: a tree hash or a flat map
    of hashes (paths are checked when the entries are read)."""
    if isinstance(value, str) and is_hash(value):
        return value
    if tree_legacy.is_flat_map(value) and all(isinstance(h, str) and is_hash(h) for h in value.values()):
        return value
    raise StoreDamageError(f"{where} has malformed artifacts")


def artifact_entries(repo, value, check: bool = True, what: str = "a run") -> list[tree.Entry]:
    """The run's artifacts as tree entries (an old flat map: sizes from the store, 0 for
    objects not here). ``check=False`` skips the clash check of an old map (a run that
    logged ``m`` and then ``m/x`` before trees existed keeps listing both)."""
    if not tree_legacy.is_flat_map(value):
        fetch_tree(repo, value, what)
        return tree.load(repo.objects, value)
    rows = tree_legacy.flat_map_rows(value, lambda h: repo.objects.size(h) if repo.objects.exists(h) else 0)
    return tree.from_rows(rows, "run artifacts") if check else [tree.Entry(*row) for row in rows]


def artifact_map(repo, value, what: str = "a run") -> dict[str, str]:
    """Relative name -> object hash (what `run show` and `run artifacts` list)."""
    if tree_legacy.is_flat_map(value):
        return dict(value)
    fetch_tree(repo, value, what)
    return {e.path: e.hash for e in tree.load(repo.objects, value)}


def fetch_tree(repo, value, what: str) -> None:
    """A teammate's run's tree, from the default remote (team backend only)."""
    if isinstance(value, str):
        elsewhere.fetch(repo, [value], f"the artifact list of {what}", PUSH_HINT)


def fetch_trees(repo, values) -> None:
    """Many runs' trees in one transfer (`run list --json`; team backend only). Those the
    remote lacks stay absent, for the reader to say so run by run."""
    try:
        elsewhere.fetch(repo, [v for v in values if isinstance(v, str)], "the artifact lists of runs", PUSH_HINT)
    except MlctlError:
        pass  # each run's reader fetches again and names what is missing where


def fetch_files(repo, digests: list[str], what: str) -> None:
    """A teammate's run's artifact files (``what`` they are, for the error), from the
    default remote (team backend only)."""
    elsewhere.fetch(repo, digests, what, PUSH_HINT)


def artifact_objects(repo, value) -> list[str]:
    """Every object the run's artifacts need, the tree first (gc, fsck, push)."""
    if tree_legacy.is_flat_map(value):
        return list(value.values())
    return tree.walk(repo.objects, value)
