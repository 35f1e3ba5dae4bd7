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
from mlctl.features.sources import check_view_columns, key_values, read_view, timestamps_ns
from mlctl.store.records import tag
from mlctl.store.times import now_ns, ns_to_iso

STATE_REF = "features/materialized/"
STATE_KIND = "mlctl.feature_state"  # states written before store/records.py have no kind: read the same


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
                end_ns: int | None = None, on_view=None) -> list[ViewMaterialization]:
    """Materialize ``views`` (default: all); ``on_view(result)`` is called after each."""
    defs = definitions.load(repo.root)
    names = list(dict.fromkeys(views)) if views else list(defs.views)
    chosen = [defs.view(name) for name in names]
    for view in chosen:
        check_view_columns(defs, view)
    end = now_ns() if end_ns is None else end_ns
    if start_ns is not None and start_ns >= end:
        raise UsageError(f"--start {ns_to_iso(start_ns)} is not before --end {ns_to_iso(end)}")
    store = online.open_store(repo, defs.online_store)
    try:
        results = []
        with repo.lock("features-materialize"):
            for view in chosen:
                results.append(_one(repo, defs, store, view, start_ns, end))
                if on_view:
                    on_view(results[-1])
        return results
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
    codecs = [online.codec_for(table.schema.field(f).type) for f in view.features]
    end_mark = max(end, previous["end_ns"]) if previous and previous.get("end_ns") is not None else end
    state = tag(STATE_KIND, 1, {
        "view": view.name, "definition": fingerprint, "key_kind": kind, "features": list(view.features),
        "codecs": codecs,
        "start_ns": start, "end_ns": end_mark, "end": ns_to_iso(end_mark),
        "window": [ns_to_iso(start), ns_to_iso(end)], "at": ns_to_iso(now_ns()),
        "entities": len(payload), "rows_in_window": selected.in_window,
    })
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

    where = f"{view.source.path}: column"
    ts, ts_valid = timestamps_ns(table[view.source.timestamp], f"{where} {view.source.timestamp!r}")
    created = None
    if view.source.created_timestamp:
        cts, cvalid = timestamps_ns(table[view.source.created_timestamp],
                                    f"{where} {view.source.created_timestamp!r}")
        created = np.where(cvalid, cts, pit.INT64_MIN)
    in_window = ts_valid & key_valid & (ts <= end)
    if start is not None:
        in_window &= ts > start
    positions = np.flatnonzero(in_window)
    return _Selected(pit.latest_per_key(keys[positions], positions, ts, created), ts, created, len(positions))


def _payload(view, table, keys, kind, selected: _Selected) -> list[tuple]:
    """(key text, event ns, created ns, *values) per entity, values as plain Python."""
    rows = selected.rows
    if not len(rows):
        return []
    import pyarrow as pa

    indices = pa.array(rows, type=pa.int64())
    columns = [_plain(table[f].take(indices)) for f in view.features]
    key_texts = [str(int(k)) if kind == "int" else str(k) for k in keys[rows]]
    events = selected.ts[rows].tolist()
    created = selected.created[rows].tolist() if selected.created is not None else [pit.INT64_MIN] * len(rows)
    return list(zip(key_texts, events, created, *columns))


def _plain(column) -> list:
    """Arrow values as what both stores hold: numbers, strings, bools, JSON text for nested
    values, ISO 8601 for times and dates."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_temporal(kind) or pa.types.is_decimal(kind) or pa.types.is_binary(kind):
        return [_scalar(v) for v in column.to_pylist()]
    if pa.types.is_nested(kind):
        return [None if v is None else json.dumps(v, default=_scalar, separators=(",", ":"))
                for v in column.to_pylist()]
    return column.to_pylist()


def _scalar(value):
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
