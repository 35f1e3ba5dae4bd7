"""The run-cache: stage fingerprint -> the outputs a successful run with it wrote.

An entry is a canonical-JSON record object in the store (so it is verified, and a remote can
carry it like any object); ``refs/pipeline/runcache/<fingerprint>`` names it. Entries written
before store/records.py carry ``"schema": 1`` instead of a kind and still read. Entries are kept
least-recently-used up to ``pipeline.runcache_size``; a hit refreshes the ref's mtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from mlctl.errors import MlctlError, StoreDamageError
from mlctl.pipeline.artifacts import Pointer
from mlctl.store import paths
from mlctl.store.hashing import is_hash
from mlctl.store.records import dump_record, load_record
from mlctl.store.repo import Repo

PREFIX = "pipeline/runcache"
DEFAULT_SIZE = 1000
KIND = "mlctl.pipeline.runcache"
VERSION = 1


@dataclass
class Entry:
    fingerprint: str
    stage: str
    cmd: str
    deps: dict[str, str | None] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    outs: dict[str, Pointer] = field(default_factory=dict)
    metrics: dict[str, Pointer] = field(default_factory=dict)
    created: str = ""
    duration: float = 0.0

    @property
    def products(self) -> dict[str, Pointer]:
        return {**self.outs, **self.metrics}

    def to_json(self) -> dict:
        return {"fingerprint": self.fingerprint, "stage": self.stage, "cmd": self.cmd,
                "deps": self.deps, "params": self.params, "created": self.created, "duration": self.duration,
                "outs": {p: v.to_json() for p, v in self.outs.items()},
                "metrics": {p: v.to_json() for p, v in self.metrics.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Entry":
        return cls(fingerprint=data["fingerprint"], stage=data["stage"], cmd=data["cmd"],
                   deps=data.get("deps", {}), params=data.get("params", {}),
                   outs={p: Pointer.from_json(v) for p, v in data.get("outs", {}).items()},
                   metrics={p: Pointer.from_json(v) for p, v in data.get("metrics", {}).items()},
                   created=data.get("created", ""), duration=float(data.get("duration", 0.0)))


def ref_name(fingerprint: str) -> str:
    return f"{PREFIX}/{fingerprint}"


def lookup(repo: Repo, fingerprint: str) -> Entry | None:
    """The entry for a fingerprint, or None (also when its object is missing or damaged)."""
    digest = (repo.refs.read(ref_name(fingerprint)) or "").strip()
    if not is_hash(digest):
        return None
    try:
        entry = load_entry(repo, digest)
    except MlctlError:
        return None
    return entry if entry.fingerprint == fingerprint else None


def load_entry(repo: Repo, digest: str) -> Entry:
    """The entry object ``digest``, checked like a manifest: a local or received entry may
    be crafted, so every path it names must pass the path resolver (exit 3 naming it)."""
    try:
        record = load_record(repo.objects.get_bytes(digest), KIND, f"run-cache entry {digest}", untagged=True)
        entry = Entry.from_json(record)
        if not is_hash(entry.fingerprint) or not isinstance(entry.stage, str):
            raise ValueError("bad fingerprint or stage")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreDamageError(f"run-cache entry {digest} is not valid: {exc}") from None
    for rel in [*entry.deps, *entry.products]:
        paths.check(rel, f"run-cache entry {digest} (stage {entry.stage})")
    return entry


def for_stage(entry: Entry, outs: tuple[str, ...], metrics: tuple[str, ...]) -> Entry | None:
    """The entry restricted to what the stage declares, or None when it names other paths:
    a restore writes only the stage's declared outputs, whatever an entry says."""
    if set(entry.outs) != set(outs) or set(entry.metrics) != set(metrics):
        return None
    return Entry(entry.fingerprint, entry.stage, entry.cmd, entry.deps, entry.params,
                 {rel: entry.outs[rel] for rel in outs}, {rel: entry.metrics[rel] for rel in metrics},
                 entry.created, entry.duration)


def touch(repo: Repo, fingerprint: str) -> None:
    try:
        os.utime(repo.refs.path(ref_name(fingerprint)))
    except OSError:
        pass


def record(repo: Repo, entry: Entry, limit: int | None = None) -> str:
    """Store the entry (object first, then the ref) and trim the cache; returns the object id."""
    digest = repo.objects.put_bytes(dump_record(KIND, VERSION, entry.to_json()))
    repo.refs.write(ref_name(entry.fingerprint), digest + "\n")
    trim(repo, limit if limit is not None else configured_size(repo))
    return digest


def configured_size(repo: Repo) -> int:
    value = repo.config.get("pipeline.runcache_size")
    return int(value) if value is not None else DEFAULT_SIZE


def iter_refs(repo: Repo) -> Iterator[tuple[str, str]]:
    """(fingerprint, object id) of every entry."""
    for name in repo.refs.list(PREFIX):
        digest = (repo.refs.read(name) or "").strip()
        yield name.rsplit("/", 1)[-1], digest


def trim(repo: Repo, limit: int) -> int:
    """Drop the least recently used entries beyond ``limit``; returns how many."""
    names = list(repo.refs.list(PREFIX))
    if len(names) <= limit:
        return 0
    def age(name: str) -> float:
        try:
            return repo.refs.path(name).stat().st_mtime
        except OSError:
            return 0.0
    names.sort(key=age)
    dropped = names[: len(names) - limit]
    for name in dropped:
        repo.refs.delete(name)
    return len(dropped)
