"""`mlctl feature materialize`: the latest value per entity into the online store.

Window per view: (start, end] with end = --end or now, start = --start, else the previous
materialization's end, else end - ttl (no ttl: from the beginning). Per entity the latest
row in the window (event time, then created time, then position in the file) replaces the
online value if it is newer. Values and the view's state are written in one transaction,
so a killed run changes nothing and a re-run is a no-op. A changed view definition (key,
source, timestamps, feature list) starts the view afresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mlctl.errors import UsageError
from mlctl.features import definitions, online, pit
from mlctl.features.sources import key_values, read_view, timestamps_ns
from mlctl.features.timeutil import now_ns, ns_to_iso

STATE_REF = "features/materialized/"


@dataclass
class ViewMaterialization:
    view: str
    start_ns: int | None
    end_ns: int
    rows_in_window: int
    entities: int
    written: int
    reset: bool

    def to_json(self) -> dict:
        return {"view": self.view, "start": ns_to_iso(self.start_ns), "end": ns_to_iso(self.end_ns),
                "rows_in_window": self.rows_in_window, "entities": self.entities,
                "written": self.written, "reset": self.reset}


def materialize(repo, views: list[str] | None = None, start_ns: int | None = None,
                end_ns: int | None = None) -> list[ViewMaterialization]:
    defs = definitions.load(repo.root)
    names = list(dict.fromkeys(views)) if views else list(defs.views)
    chosen = [defs.view(name) for name in names]
    definitions.load(repo.root, check_sources=names)
    end = now_ns() if end_ns is None else end_ns
    if start_ns is not None and start_ns >= end:
        raise UsageError(f"--start {ns_to_iso(start_ns)} is not before --end {ns_to_iso(end)}")
    store = online.open_store(repo, defs.online_store)
    try:
        with repo.lock("features-materialize"):
            return [_one(repo, defs, store, view, start_ns, end) for view in chosen]
    finally:
        store.close()


def _one(repo, defs, store, view, start_ns, end) -> ViewMaterialization:
    table = read_view(defs, view)
    keys, key_valid, kind = key_values(table[view.join_key], f"{view.source.path}: column {view.join_key!r}")
    previous = store.state(view.name)
    fingerprint = view.definition_hash()
    reset = bool(previous) and (previous.get("definition") != fingerprint or previous.get("key_kind") != kind)
    if reset:
        previous = None
    start = _window_start(view, previous, start_ns, end)
    selected = _select(view, table, keys, key_valid, start, end)
    payload = _payload(view, table, keys, kind, selected)
    end_mark = max(end, previous["end_ns"]) if previous and previous.get("end_ns") is not None else end
    state = {
        "view": view.name, "definition": fingerprint, "key_kind": kind, "features": list(view.features),
        "start_ns": start, "end_ns": end_mark, "end": ns_to_iso(end_mark),
        "window": [ns_to_iso(start), ns_to_iso(end)], "at": ns_to_iso(now_ns()),
        "entities": len(payload), "rows_in_window": selected.in_window,
    }
    written = store.write(view.name, payload, state, reset=reset)
    # a mirror for `mlctl status`, which must not open the online store
    repo.refs.write_json(STATE_REF + view.name, {**state, "store": store.describe(), "written": written})
    return ViewMaterialization(view.name, start, end, selected.in_window, len(payload), written, reset)


def _window_start(view, previous, start_ns, end) -> int | None:
    if start_ns is not None:
        return start_ns
    if previous and previous.get("end_ns") is not None:
        return previous["end_ns"]
    ttl = view.ttl_ns()
    return None if ttl is None else end - ttl


@dataclass
class _Selected:
    rows: object  # feature row indices, one per entity
    ts: object
    created: object
    in_window: int


def _select(view, table, keys, key_valid, start, end) -> _Selected:
    import numpy as np
    import pandas as pd

    where = f"{view.source.path}: column"
    ts, ts_valid = timestamps_ns(table[view.source.timestamp], f"{where} {view.source.timestamp!r}")
    created = None
    if view.source.created_timestamp:
        cts, cvalid = timestamps_ns(table[view.source.created_timestamp],
                                    f"{where} {view.source.created_timestamp!r}")
        created = np.where(cvalid, cts, pit.INT64_MIN)
    codes, _ = pd.factorize(keys)
    valid = ts_valid & key_valid
    side = pit.Side(np.where(valid, codes, -1).astype(np.int64), ts, valid, created)
    in_window = valid & (ts <= end) & (ts > start if start is not None else True)
    return _Selected(pit.latest_rows(side, start, end), ts, created, int(in_window.sum()))


def _payload(view, table, keys, kind, selected: _Selected) -> list[tuple]:
    rows = selected.rows
    if not len(rows):
        return []
    import pyarrow as pa

    indices = pa.array(rows, type=pa.int64())
    columns = [table[f].take(indices).to_pylist() for f in view.features]
    names = view.features
    key_texts = [str(int(k)) if kind == "int" else str(k) for k in keys[rows]]
    created = selected.created[rows] if selected.created is not None else None
    payload = []
    for i, key in enumerate(key_texts):
        vals = json.dumps({n: c[i] for n, c in zip(names, columns)}, default=_json_default, separators=(",", ":"))
        payload.append((key, int(selected.ts[rows[i]]), int(created[i]) if created is not None else pit.INT64_MIN, vals))
    return payload


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
