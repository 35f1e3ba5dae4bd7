"""Where the registry lives: the only module that knows, and the seam between backends.

Without a backend the registry is the local store's refs and objects (refindex.py); with
``backend.url`` set it is PostgreSQL's tables (pgindex.py). Both hand out the same
documents (indexdocs.py) through the same functions, so everything above this module is
one code path: a change to a model is ``with model_lock(repo, name):`` then reads and
updates, which on the refs is a file lock around atomic renames and on PostgreSQL one
transaction under the model's advisory lock. Either way the reads inside see the writes
of every lock holder before, so a check made there (the alias is still where the caller
found it) and the move after it are one compare-and-swap.
"""

from __future__ import annotations

from typing import Callable

from mlctl.registry.indexdocs import ALIASES_KIND, INDEX_KIND, RECORD_KIND, empty_aliases, empty_index
from mlctl.registry.refindex import MODELS, RefIndex, aliases_ref, versions_ref
from mlctl.store.backend.url import backend_url
from mlctl.store.repo import Repo

__all__ = ["ALIASES_KIND", "INDEX_KIND", "RECORD_KIND", "MODELS", "empty_aliases", "empty_index",
           "aliases_ref", "versions_ref"]


def where(repo: Repo):
    """The registry of ``repo``: a RefIndex, or a PgIndex when a backend is set."""
    url = backend_url(repo)
    if url is None:
        return RefIndex(repo)
    from mlctl.registry.pgindex import PgIndex

    return PgIndex(repo)


def model_lock(repo: Repo, name: str):
    return where(repo).lock(name)


def read_index(repo: Repo, name: str) -> dict:
    return where(repo).read_index(name)


def update_index(repo: Repo, name: str, fn: Callable[[dict], dict]) -> dict:
    return where(repo).update_index(name, fn)


def model_names(repo: Repo) -> list[str]:
    return where(repo).model_names()


def read_aliases(repo: Repo, name: str) -> dict:
    return where(repo).read_aliases(name)


def update_aliases(repo: Repo, name: str, fn: Callable[[dict], dict]) -> dict:
    return where(repo).update_aliases(name, fn)


def alias_stamp(repo: Repo, name: str, latest: bool = False):
    """A cheap fingerprint that changes when the model's aliases move (with ``latest``:
    when a version is added or deleted), for a server following an alias."""
    return where(repo).alias_stamp(name, latest)


def put_record(repo: Repo, record: dict) -> str:
    return where(repo).put_record(record)


def has_record(repo: Repo, digest: str) -> bool:
    return where(repo).has_record(digest)


def adopt_record(repo: Repo, digest: str) -> None:
    """Make a record object already in the local store (pulled from a remote) the
    registry's: nothing more on the refs, a row on the backend."""
    where(repo).adopt_record(digest)


def read_record(repo: Repo, digest: str, what: str) -> dict:
    return where(repo).read_record(digest, what)


# -- deployments (deployments.py) ---------------------------------------------------------
def write_deployment(repo: Repo, model: str, dep_id: str, record: dict) -> None:
    where(repo).write_deployment(model, dep_id, record)


def update_deployment(repo: Repo, model: str, dep_id: str, fn: Callable[[dict | None], dict]) -> dict:
    return where(repo).update_deployment(model, dep_id, fn)


def remove_deployment(repo: Repo, model: str, dep_id: str) -> None:
    where(repo).remove_deployment(model, dep_id)


def deployments(repo: Repo, model: str | None = None) -> list[tuple[str, object]]:
    """(id, record as stored) of every deployment record, of one model or all."""
    return list(where(repo).deployments(model))


def read_deployment(repo: Repo, model: str, dep_id: str):
    return where(repo).read_deployment(model, dep_id)
