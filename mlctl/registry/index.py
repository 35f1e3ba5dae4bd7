"""The registry's refs and records: the only module that knows where they live.

    refs/models/<name>/versions  {"kind": "mlctl.registry.versions", "version": 1, "next": N,
                                  "versions": {"1": {"record", "artifact", "run", "created"}}}
    refs/models/<name>/aliases   {"kind": "mlctl.registry.aliases", "version": 1,
                                  "aliases": {"production": 3}, "history": [move, ...]}
    objects                      one canonical JSON record per version (immutable)

Both refs were written without ``kind`` and ``version`` before store/records.py; they read
the same, and the next update tags them.

Aliases and their history share one ref, so one atomic rename moves both: a killed or
concurrent writer can never leave an alias that disagrees with its history. Every change
to a model holds ``locks/registry-<name>.lock``, so a version can't be deleted while an
alias is being moved onto it.
"""

from __future__ import annotations

from typing import Callable

from mlctl.errors import ObjectMissingError, StoreDamageError
from mlctl.store.lock import FileLock
from mlctl.store.records import canonical, load_record, tag
from mlctl.store.repo import Repo

MODELS = "models"
INDEX_KIND = "mlctl.registry.versions"
ALIASES_KIND = "mlctl.registry.aliases"


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
    return load_record(index, INDEX_KIND, f"ref {versions_ref(name)}", untagged=True)


def update_index(repo: Repo, name: str, fn: Callable[[dict], dict]) -> dict:
    return repo.refs.update_json(versions_ref(name), lambda old: _tagged(INDEX_KIND, fn(old or empty_index())))


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
    return load_record(doc, ALIASES_KIND, f"ref {aliases_ref(name)}", untagged=True)


def update_aliases(repo: Repo, name: str, fn: Callable[[dict], dict]) -> dict:
    return repo.refs.update_json(aliases_ref(name), lambda old: _tagged(ALIASES_KIND, fn(old or empty_aliases())))


def _tagged(kind: str, doc: dict | None) -> dict | None:
    """``doc`` (read tagged or untagged, maybe changed by an update) tagged as ``kind``;
    None (delete the ref) stays None."""
    if doc is None:
        return None
    return tag(kind, 1, {k: v for k, v in doc.items() if k not in ("kind", "version")})


# -- records -------------------------------------------------------------------------------
# A version record keeps its ``format_version: "mlctl.registry.version/1"`` tag rather than
# ``kind``+``version``: its ``version`` is the model's version number.
RECORD_KIND = "mlctl.registry.version"


def put_record(repo: Repo, record: dict) -> str:
    return repo.objects.put_bytes(canonical(record))


def read_record(repo: Repo, digest: str, what: str) -> dict:
    try:
        data = repo.objects.get_bytes(digest, verify=True)
    except ObjectMissingError:
        raise ObjectMissingError(digest, what=f"the record of {what}") from None
    # untagged: a record received from a remote is checked for its fields, not its tag
    return load_record(data, RECORD_KIND, f"the record of {what} ({digest})", untagged=True)
