"""`mlctl feature list`: views, their features and sources, and how fresh the online
store is (the end of each view's last materialization)."""

from __future__ import annotations

from mlctl.errors import MlctlError
from mlctl.features import definitions, online
from mlctl.features.sources import load_definitions
from mlctl.store.times import NS, exact_duration, human_age, now_ns


def list_views(repo) -> dict:
    defs = load_definitions(repo.root, check_sources=True)
    states, store_error = _states(repo, defs)
    now = now_ns()
    views = [_view_json(defs, view, states.get(view.name), now) for view in defs.views.values()]
    return {"file": definitions.FILENAME, "online_store": defs.online_store.to_json(),
            "online_store_error": store_error, "views": views,
            "entities": {e.name: {"join_key": e.join_key, "description": e.description}
                         for e in defs.entities.values()}}


def _states(repo, defs) -> tuple[dict, str | None]:
    try:
        store = online.open_store(repo, defs.online_store)
        try:
            return store.states(), None
        finally:
            store.close()
    except MlctlError as exc:  # an unreachable Redis: fall back on what this workspace wrote
        from mlctl.features.materialize import STATE_REF

        mirror = {name.rsplit("/", 1)[1]: repo.refs.read_json(name) for name in repo.refs.list(STATE_REF.rstrip("/"))}
        return mirror, exc.message


def _view_json(defs, view, state: dict | None, now: int) -> dict:
    materialized = None
    if state:
        stale = state.get("definition") != view.definition_hash()
        materialized = {"end": state.get("end"), "at": state.get("at"), "window": state.get("window"),
                        "entities": state.get("entities"), "definition_changed": stale,
                        "age_seconds": (now - state["end_ns"]) / NS if state.get("end_ns") is not None else None}
    return {
        "name": view.name, "entity": view.entity.name, "join_key": view.join_key,
        "source": view.source.name, "path": view.source.path, "format": view.source.format,
        "timestamp": view.source.timestamp, "created_timestamp": view.source.created_timestamp,
        "ttl": exact_duration(view.ttl_seconds), "ttl_seconds": view.ttl_seconds,
        "features": list(view.features), "description": view.description,
        "materialized": materialized,
    }


def freshness_text(materialized: dict | None) -> str:
    if not materialized:
        return "never materialized"
    age = materialized.get("age_seconds")
    ago = f" ({human_age(age)})" if age is not None else ""
    note = "; definition changed since" if materialized.get("definition_changed") else ""
    return f"up to {materialized.get('end')}{ago}{note}"

