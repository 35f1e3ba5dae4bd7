"""Helpers shared by the registry tests."""

from __future__ import annotations


def refs_snapshot(repo) -> dict:
    """Every ref's content: equal snapshots mean the registry did not change."""
    out = {}
    for ref in repo.refs.list():
        out[ref] = repo.refs.read(ref)
    return out


def objects(repo) -> set:
    return set(repo.objects.iter_hashes())
