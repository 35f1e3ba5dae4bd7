"""Helpers shared by the registry tests."""

from __future__ import annotations


def refs_snapshot(repo) -> dict:
    """Every ref's content and the registry as index.py reads it (from the refs or the
    backend): equal snapshots mean the registry did not change."""
    from mlctl.registry import index

    out = {}
    for ref in repo.refs.list():
        out[ref] = repo.refs.read(ref)
    for name in index.model_names(repo):
        out[f"registry {name}"] = (index.read_index(repo, name), index.read_aliases(repo, name))
    out["deployments"] = index.deployments(repo)
    return out


def objects(repo) -> set:
    return set(repo.objects.iter_hashes())


def lose_record(repo, digest: str) -> None:
    """Lose a version record where the registry keeps it: the local store's object, or
    the backend's row."""
    from mlctl.registry import index
    from mlctl.registry.refindex import RefIndex
    from tests.factories import damage_object

    where = index.where(repo)
    if isinstance(where, RefIndex):
        damage_object(repo, digest, "missing")
        return
    with where.db.write() as conn:
        conn.execute("DELETE FROM model_records WHERE hash = ?", (digest,))
