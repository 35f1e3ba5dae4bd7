"""Online lookup: `mlctl feature get` and ``mlctl.features.get_online``.

Built for a model server calling it per request: the parsed features.yaml, the store
connection (one per thread) and the parsed feature lists are cached per repository and
reloaded when features.yaml changes; a lookup is one query per view. Standard library
only (no pandas): `mlctl feature get` starts in a fraction of Feast's import time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from mlctl.errors import NotFoundError, UsageError
from mlctl.features import definitions, online, selection
from mlctl.store.times import now_ns, ns_to_datetime

PRESENT, MISSING, EXPIRED = "present", "missing", "expired"
_contexts: dict = {}
_contexts_lock = threading.Lock()


def get_online(repo_or_path, features, entity_rows, *, full_names: bool = False,
               include_expired: bool = False, now_ns_value: int | None = None) -> list[dict]:
    """Latest materialized values for ``entity_rows`` (dicts holding each view's join key).

    ``features``: "view:feat,view2:*" or a list of such. Returns one dict per entity row,
    in order: ``{"entity": {...}, "features": {name: value}, "event_timestamps":
    {view: datetime (UTC) | None}, "status": {view: "present" | "missing" | "expired"}}``.
    A value whose event time is at or before now - ttl is "expired" and returned as None
    (as a training join at this moment would), unless ``include_expired``.
    """
    context = _context(repo_or_path)
    chosen = context.selection(features, full_names)
    rows = [dict(r) for r in entity_rows] if not isinstance(entity_rows, dict) else [dict(entity_rows)]
    out = [{"entity": {}, "features": {}, "event_timestamps": {}, "status": {}} for _ in rows]
    now = now_ns() if now_ns_value is None else now_ns_value
    for view in chosen.views:
        _lookup_view(context, view, chosen, rows, out, now, include_expired)
    return out


def _lookup_view(context, view, chosen, rows, out, now, include_expired) -> None:
    kind, positions, codecs = context.layout(view)
    keys = []
    for i, row in enumerate(rows):
        if view.join_key not in row:
            raise UsageError(f"entity row {i + 1} has no {view.join_key!r} (join key of {view.name!r})")
        keys.append(online.encode_key(row[view.join_key], kind, view.join_key))
    found = context.store.get(view.name, keys)
    names = [(positions[f], chosen.names[(view.name, f)]) for f in chosen.features[view.name]]
    ttl = view.ttl_ns()
    for row, key, result in zip(rows, keys, out):
        result["entity"][view.join_key] = int(key) if kind == "int" else key
        hit = found.get(key)
        if hit is None:
            status, values, stamp = MISSING, None, None
        else:
            event_ns, _created, values = hit
            stamp = ns_to_datetime(event_ns)
            expired = ttl is not None and now - event_ns >= ttl
            status = EXPIRED if expired else PRESENT
            values = None if expired and not include_expired else online.decode(values, codecs)
        features = result["features"]
        for index, name in names:
            features[name] = None if values is None else values[index]
        result["event_timestamps"][view.name] = stamp
        result["status"][view.name] = status


def parse_entity_args(args: list[str]) -> list[dict]:
    """``["driver_id=1001", "driver_id=1002,rider_id=7"]`` -> one entity row per argument."""
    rows = []
    for arg in args:
        row = {}
        for part in arg.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"--entity {arg!r}: expected JOIN_KEY=VALUE[,JOIN_KEY=VALUE]")
            row[key.strip()] = value.strip()
        rows.append(row)
    return rows


class _Context:
    """What a lookup needs from one repository, cached while features.yaml is unchanged."""

    def __init__(self, repo, stamp):
        self.repo, self.stamp = repo, stamp
        self.defs = definitions.load(repo.root)
        self.store = online.open_store(repo, self.defs.online_store)
        self._selections: dict = {}
        self._layouts: dict = {}

    def selection(self, features, full_names: bool):
        key = (features if isinstance(features, str) else tuple(features), full_names)
        chosen = self._selections.get(key)
        if chosen is None:
            chosen = self._selections[key] = selection.parse(self.defs, features, full_names)
        return chosen

    def layout(self, view) -> tuple:
        """(key kind, feature -> position in the stored values, codecs), from the state."""
        layout = self._layouts.get(view.name)
        if layout is None:
            state = self._check_state(view)
            positions = {f: i for i, f in enumerate(state["features"])}
            layout = self._layouts[view.name] = (state.get("key_kind", "str"), positions, state["codecs"])
        return layout

    def _check_state(self, view) -> dict:
        state = self.store.state(view.name)
        if not state:
            raise NotFoundError(f"feature view {view.name!r} has not been materialized",
                                hint=f"run `mlctl feature materialize {view.name}`")
        if state.get("definition") != view.definition_hash():
            raise UsageError(f"feature view {view.name!r} changed in features.yaml since it was materialized",
                             hint=f"run `mlctl feature materialize {view.name}`")
        return state


def _context(repo_or_path) -> _Context:
    repo = _repo(repo_or_path)
    stamp = _stamp(definitions.features_path(repo.root))
    key = str(repo.root)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None or context.stamp != stamp:
            if context is not None:
                context.store.close()
            context = _contexts[key] = _Context(repo, stamp)
    return context


_repos: dict = {}


def _repo(repo_or_path):
    if hasattr(repo_or_path, "root") and hasattr(repo_or_path, "dot"):
        return repo_or_path
    key = (os.fspath(repo_or_path) if repo_or_path is not None else os.getcwd(), os.environ.get("MLCTL_DIR"))
    repo = _repos.get(key)
    if repo is None:
        from mlctl.store.repo import find_repo

        repo = _repos[key] = find_repo(Path(key[0]))
    return repo


def _stamp(path: Path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def clear_cache() -> None:
    """Close cached connections (tests; a server shutting down)."""
    with _contexts_lock:
        for context in _contexts.values():
            context.store.close()
        _contexts.clear()

