"""`mlctl backend import`'s registry: a clone's models (the local store's refs) copied into
the team backend.

A model the backend does not know goes over whole: its version records, its version index,
and its aliases with their whole history (each model's index, then its aliases, under the
model's lock). A model the backend holds exactly as this clone does is left alone, so a
second import changes nothing; one killed between its index and its aliases is finished by
the next import. A model that differs (versions or moves made on either side since) is not
touched, only named: merging two histories is `model pull`'s work (`mlctl model push` from
this clone without the backend, then `mlctl model pull` with it). Deployment records are
not copied: they describe servers running now, which keep their own records. Model files
stay content-addressed objects: `mlctl model push` sends them to the remote.
"""

from __future__ import annotations

from mlctl.registry.indexdocs import empty_index, untagged
from mlctl.registry.refindex import RefIndex
from mlctl.store.backend.url import required_url


def import_models(repo) -> dict:
    """Copy the clone's models into the backend; counts, and the models that differ."""
    required_url(repo, "no backend is set: there is nothing to import into")
    from mlctl.registry.pgindex import PgIndex

    local, backend = RefIndex(repo), PgIndex(repo)
    counts: dict = {"models": 0, "added": 0, "unchanged": 0, "differ": []}
    for name in local.model_names():
        counts["models"] += 1
        outcome = _import_model(name, local, backend)
        if outcome == "differ":
            counts["differ"].append(name)
        else:
            counts[outcome] += 1
    return counts


def _import_model(name: str, local: RefIndex, backend) -> str:
    index, aliases = local.read_index(name), local.read_aliases(name)
    there = backend.read_index(name)
    if untagged(there) != untagged(empty_index()) and untagged(there) != untagged(index):
        return "differ"
    if untagged(there) == untagged(index):
        held = backend.read_aliases(name)
        if _moves(held) == _moves(aliases):
            return "unchanged"
        if held["history"] or held["aliases"]:
            return "differ"
    for entry in index["versions"].values():
        backend.adopt_record(entry["record"])  # read from this store, checked against its hash
    backend.update_index(name, lambda _old: index)
    backend.update_aliases(name, lambda _old: aliases)
    return "added"


def _moves(doc: dict) -> tuple:
    return doc["aliases"], doc["history"]
