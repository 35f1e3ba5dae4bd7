"""The registry in the local store's refs and objects (no backend set).

    refs/models/<name>/versions  {"kind": "mlctl.registry.versions", "version": 1, "next": N,
                                  "versions": {"1": {"record", "artifact", "run", "created"}}}
    refs/models/<name>/aliases   {"kind": "mlctl.registry.aliases", "version": 1,
                                  "aliases": {"production": 3}, "history": [move, ...]}
    refs/deployments/<name>/<id> one running server's record (deployments.py)
    objects                      one canonical JSON record per version (immutable)

Both model refs were written without ``kind`` and ``version`` before store/records.py;
they read the same, and the next update tags them.

Aliases and their history share one ref, so one atomic rename moves both: a killed or
concurrent writer can never leave an alias that disagrees with its history. Every change
to a model holds ``locks/registry-<name>.lock``, so a version can't be deleted while an
alias is being moved onto it.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator

from mlctl.errors import ObjectMissingError, StoreDamageError
from mlctl.registry.indexdocs import ALIASES_KIND, INDEX_KIND, RECORD_KIND, empty_aliases, empty_index, untagged
from mlctl.store.records import canonical, load_record, tag
from mlctl.store.repo import Repo

MODELS = "models"
DEPLOYMENTS = "deployments"


def versions_ref(name: str) -> str:
    return f"{MODELS}/{name}/versions"


def aliases_ref(name: str) -> str:
    return f"{MODELS}/{name}/aliases"


def deployment_ref(model: str, dep_id: str) -> str:
    return f"{DEPLOYMENTS}/{model}/{dep_id}"


class RefIndex:
    """The registry of one repository, in its refs."""

    def __init__(self, repo: Repo):
        self.repo = repo

    def lock(self, name: str):
        return self.repo.lock(f"registry-{name}")

    # -- versions index --------------------------------------------------------------------
    def read_index(self, name: str) -> dict:
        doc = self.repo.refs.read_json(versions_ref(name), default=None)
        if doc is None:
            return empty_index()
        if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
            raise StoreDamageError(f"the version index of model {name} is damaged")
        return load_record(doc, INDEX_KIND, f"ref {versions_ref(name)}", untagged=True)

    def update_index(self, name: str, fn: Callable[[dict], dict]) -> dict:
        return self.repo.refs.update_json(versions_ref(name), lambda old: _tagged(INDEX_KIND, fn(old or empty_index())))

    def model_names(self) -> list[str]:
        base = self.repo.refs.root / MODELS
        if not base.is_dir():
            return []
        return sorted(entry.name for entry in base.iterdir() if (entry / "versions").is_file())

    # -- aliases and history ---------------------------------------------------------------
    def read_aliases(self, name: str) -> dict:
        doc = self.repo.refs.read_json(aliases_ref(name), default=None)
        if doc is None:
            return empty_aliases()
        if not isinstance(doc, dict) or not isinstance(doc.get("aliases"), dict):
            raise StoreDamageError(f"the aliases of model {name} are damaged")
        doc.setdefault("history", [])
        return load_record(doc, ALIASES_KIND, f"ref {aliases_ref(name)}", untagged=True)

    def update_aliases(self, name: str, fn: Callable[[dict], dict]) -> dict:
        return self.repo.refs.update_json(aliases_ref(name),
                                          lambda old: _tagged(ALIASES_KIND, fn(old or empty_aliases())))

    def alias_stamp(self, name: str, latest: bool):
        """What changes when the model's aliases (or, with ``latest``, its versions) move:
        the ref file's identity and times."""
        try:
            st = os.stat(self.repo.refs.path(versions_ref(name) if latest else aliases_ref(name)))
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    # -- records ---------------------------------------------------------------------------
    def put_record(self, record: dict) -> str:
        return self.repo.objects.put_bytes(canonical(record))

    def adopt_record(self, digest: str) -> None:
        """The record object is in the store already: nothing to do."""

    def has_record(self, digest: str) -> bool:
        return self.repo.objects.exists(digest)

    def read_record(self, digest: str, what: str) -> dict:
        try:
            data = self.repo.objects.get_bytes(digest, verify=True)
        except ObjectMissingError:
            raise ObjectMissingError(digest, what=f"the record of {what}") from None
        # untagged: a record received from a remote is checked for its fields, not its tag
        return load_record(data, RECORD_KIND, f"the record of {what} ({digest})", untagged=True)

    # -- deployments -----------------------------------------------------------------------
    def write_deployment(self, model: str, dep_id: str, record: dict) -> None:
        self.repo.refs.write_json(deployment_ref(model, dep_id), record)

    def update_deployment(self, model: str, dep_id: str, fn: Callable[[dict | None], dict]) -> dict:
        return self.repo.refs.update_json(deployment_ref(model, dep_id), fn)

    def remove_deployment(self, model: str, dep_id: str) -> None:
        self.repo.refs.delete(deployment_ref(model, dep_id))

    def deployments(self, model: str | None = None) -> Iterator[tuple[str, object]]:
        """(id, record as stored: maybe not even a dict) of every deployment record."""
        for ref in self.repo.refs.list(f"{DEPLOYMENTS}/{model}" if model else DEPLOYMENTS):
            yield ref.rsplit("/", 1)[-1], self.repo.refs.read_json(ref, default=None)

    def read_deployment(self, model: str, dep_id: str):
        return self.repo.refs.read_json(deployment_ref(model, dep_id), default=None)


def _tagged(kind: str, doc: dict | None) -> dict | None:
    """``doc`` (read tagged or untagged, maybe changed by an update) tagged as ``kind``;
    None (delete the ref) stays None."""
    if doc is None:
        return None
    return tag(kind, 1, untagged(doc))
