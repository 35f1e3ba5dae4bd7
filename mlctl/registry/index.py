"""The registry's refs and records: the only module that knows where they live.

    refs/models/<name>/versions  {"next": N, "versions": {"1": {"record", "artifact", "run", "created"}}}
    refs/models/<name>/aliases   {"aliases": {"production": 3}, "history": [move, ...]}
    objects                      one canonical JSON record per version (immutable)

Aliases and their history share one ref, so one atomic rename moves both: a killed or
concurrent writer can never leave an alias that disagrees with its history. Every change
to a model holds ``locks/registry-<name>.lock``, so a version can't be deleted while an
alias is being moved onto it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from mlctl.errors import ObjectMissingError, StoreDamageError
from mlctl.store.lock import FileLock
from mlctl.store.repo import Repo

MODELS = "models"


def versions_ref(name: str) -> str:
    return f"{MODELS}/{name}/versions"


def aliases_ref(name: str) -> str:
    return f"{MODELS}/{name}/aliases"


def model_lock(repo: Repo, name: str) -> FileLock:
    return repo.lock(f"registry-{name}")


# -- versions index ------------------------------------------------------------------------
def empty_index() -> dict:
    return {"next": 1, "versions": {}}


def read_index(repo: Repo, name: str) -> dict:
    index = repo.refs.read_json(versions_ref(name), default=None)
    if index is None:
        return empty_index()
    if not isinstance(index, dict) or not isinstance(index.get("versions"), dict):
        raise StoreDamageError(f"the version index of model {name} is damaged")
    return index


def update_index(repo: Repo, name: str, fn: Callable[[dict], dict]) -> dict:
    return repo.refs.update_json(versions_ref(name), lambda old: fn(old or empty_index()))


def model_names(repo: Repo) -> list[str]:
    base = repo.refs.root / MODELS
    if not base.is_dir():
        return []
    return sorted(entry.name for entry in base.iterdir() if (entry / "versions").is_file())


# -- aliases and history -------------------------------------------------------------------
def empty_aliases() -> dict:
    return {"aliases": {}, "history": []}


def read_aliases(repo: Repo, name: str) -> dict:
    doc = repo.refs.read_json(aliases_ref(name), default=None)
    if doc is None:
        return empty_aliases()
    if not isinstance(doc, dict) or not isinstance(doc.get("aliases"), dict):
        raise StoreDamageError(f"the aliases of model {name} are damaged")
    doc.setdefault("history", [])
    return doc


def update_aliases(repo: Repo, name: str, fn: Callable[[dict], dict]) -> dict:
    return repo.refs.update_json(aliases_ref(name), lambda old: fn(old or empty_aliases()))


# -- records -------------------------------------------------------------------------------
def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True).encode("utf-8")


def put_record(repo: Repo, record: dict) -> str:
    return repo.objects.put_bytes(canonical(record))


def read_record(repo: Repo, digest: str, what: str) -> dict:
    try:
        data = repo.objects.get_bytes(digest, verify=True)
    except ObjectMissingError:
        raise ObjectMissingError(digest, what=f"the record of {what}") from None
    try:
        record = json.loads(data)
    except ValueError:
        raise StoreDamageError(f"the record of {what} ({digest}) is not valid JSON") from None
    if not isinstance(record, dict):
        raise StoreDamageError(f"the record of {what} ({digest}) is damaged")
    return record
