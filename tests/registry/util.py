"""Helpers shared by the registry tests."""

from __future__ import annotations

import os
import pickle


def refs_snapshot(repo) -> dict:
    """Every ref's content: equal snapshots mean the registry did not change."""
    out = {}
    for ref in repo.refs.list():
        out[ref] = repo.refs.read(ref)
    return out


def objects(repo) -> set:
    return set(repo.objects.iter_hashes())


def damage_object(repo, digest: str) -> None:
    path = repo.objects.path(digest)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def pickle_bytes(module: str, name: str) -> bytes:
    """A pickle of an instance of module.name, written by hand (the class need not exist)."""
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)\x81}b."


def dump(obj, path) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f)
