"""The feature store's part in `mlctl status`, gc and fsck. Light imports only."""

from __future__ import annotations

STATE_REF = "features/materialized"
JOIN_REF = "features/joins"


def status_section(repo) -> dict | None:
    from mlctl.errors import MlctlError
    from mlctl.features import definitions

    if not definitions.features_path(repo.root).is_file():
        return None
    try:
        views = list(definitions.load(repo.root).views)
    except MlctlError as exc:
        return {"key": "features", "title": "Features", "lines": [exc.message],  # it names features.yaml already
                "json": {"error": exc.message, "views": {}}}
    states = {name.rsplit("/", 1)[1]: repo.refs.read_json(name) for name in repo.refs.list(STATE_REF)}
    summary = {v: _last(states.get(v)) for v in views}
    lines = [f"{len(views)} feature views"]
    lines += [f"{v}: " + (f"materialized up to {s['end']}" if s else "never materialized") for v, s in summary.items()]
    return {"key": "features", "title": "Features", "lines": lines, "json": {"views": summary}}


def _last(state) -> dict | None:
    if not isinstance(state, dict):
        return None
    return {"end": state.get("end"), "at": state.get("at"), "entities": state.get("entities"),
            "store": state.get("store")}


def gc_roots(repo):
    from mlctl.features.lineage import referenced_objects

    return referenced_objects(repo)


def fsck_refs(repo):
    from mlctl.features.lineage import referenced_objects

    for digest in referenced_objects(repo):
        if not repo.objects.exists(digest):
            yield {"what": f"feature-join record ({JOIN_REF}/{digest})", "object": digest,
                   "problem": "not in the store"}
