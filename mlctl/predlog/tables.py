"""Prediction-log rows and blocks -> one arrow table -> one parquet object.

Two ways in. Rows (``PredictionLogWriter.append``) are mappings, one per input row: any
producer can build them. Blocks (``append_block``) are what a model server has anyway: a
run of requests to one model version as arrays, one per input column. A server logs
thousands of rows a second, and building a dict per row and a Python list per column cost
it as much CPU as answering (~0.03 of 0.13 ms a request), on a thread that holds the GIL
the event loop needs; a block becomes arrow columns with no Python loop over its rows.

Both give the same columns and types: an input column that is int everywhere stays
int64, NaN stays NaN (not null), a column missing from some rows is null there, and a
column whose values mix types (3 and "x") becomes text rather than losing the flush.
"""

from __future__ import annotations

import io
import json

META_COLUMNS = ("request_id", "timestamp", "model", "version", "role", "instance")
RESERVED = frozenset(META_COLUMNS + ("prediction",))
INPUT_PREFIX = "input."
TIME_TYPE = ("us", "UTC")


def input_column(name: str) -> str:
    """The log column of an input feature; names that collide with ours get ``input.``."""
    return INPUT_PREFIX + name if name in RESERVED else name


def rows_table(model: str, rows: list[dict]):
    """Checked rows (log._check_row) as one table."""
    import pyarrow as pa

    columns = {
        "request_id": pa.array([r["request_id"] for r in rows], pa.string()),
        "timestamp": pa.array([r["timestamp"] for r in rows], pa.timestamp(*TIME_TYPE)),
        "model": pa.array([model] * len(rows), pa.string()),
        "version": pa.array([r["version"] for r in rows], pa.int64()),
        "role": pa.array([r["role"] for r in rows], pa.string()),
        "instance": pa.array([r["instance"] for r in rows], pa.int32()),
    }
    features: dict[str, None] = {}
    for r in rows:
        features.update(dict.fromkeys(r["inputs"]))
    for name in features:
        columns[input_column(name)] = values_column([r["inputs"].get(name) for r in rows])
    columns["prediction"] = values_column([r["prediction"] for r in rows])
    return pa.table(columns)


def values_column(values: list):
    """An arrow array of the values as given; lists/dicts become JSON text, and a column
    whose values mix types (3 and "x") falls back to text rather than losing the batch."""
    import pyarrow as pa

    if any(isinstance(v, (list, dict, tuple)) for v in values):
        values = [None if v is None else json.dumps(v, sort_keys=True, default=str) for v in values]
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def block_table(model: str, block: dict):
    """A server's run of requests to one version as one table. ``block`` holds
    ``request_ids`` and ``timestamps`` (epoch seconds), one per request; ``counts``, the
    rows of each request; ``version``; ``role``; ``inputs``, column name -> 1-d numpy array
    over all the rows; ``predictions``, a 1-d numpy array of numbers, bools or strings."""
    import numpy as np
    import pyarrow as pa

    counts = np.asarray(block["counts"], dtype=np.int64)
    n = int(counts.sum())
    micros = np.round(np.asarray(block["timestamps"], dtype=np.float64) * 1e6).astype(np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    columns = {
        "request_id": _repeated(block["request_ids"], counts),
        "timestamp": pa.array(np.repeat(micros, counts), pa.timestamp(*TIME_TYPE)),
        "model": _repeated([model], [n]),
        "version": pa.array(np.full(n, int(block["version"]), dtype=np.int64)),
        "role": _repeated([block["role"]], [n]),
        "instance": pa.array((np.arange(n) - starts).astype(np.int32)),
    }
    for name, values in block["inputs"].items():
        columns[input_column(name)] = pa.array(values)
    columns["prediction"] = pa.array(block["predictions"])
    lengths = {len(c) for c in columns.values()}
    if lengths != {n}:
        raise ValueError(f"a prediction-log block's columns have {sorted(lengths)} values, not {n}")
    return pa.table(columns)


def _repeated(texts: list, counts):
    """Each text ``counts[i]`` times, as an arrow string array built by a take in C, not a
    Python list of one reference per row (a 10,000-row request: ~3 ms of GIL less)."""
    import numpy as np
    import pyarrow as pa

    picks = np.repeat(np.arange(len(texts)), np.asarray(counts, dtype=np.int64))
    return pa.array(texts, pa.string()).take(pa.array(picks))


def merged(tables: list):
    """The tables of one flush as one, in order, with the columns rows alone would give:
    the meta columns, the inputs in order of first appearance, then the prediction."""
    if len(tables) == 1:
        return tables[0]
    order = dict.fromkeys(META_COLUMNS)
    for t in tables:
        order.update(dict.fromkeys(n for n in t.schema.names if n != "prediction"))
    order["prediction"] = None
    return concat(tables).select(list(order))


def concat(tables: list):
    """Concatenate tables whose inputs may differ (a feature added, int became float);
    columns whose types cannot be unified become text."""
    import pyarrow as pa

    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        names = {f.name for t in tables for f in t.schema}
        conflicting = {n for n in names if len({str(t.schema.field(n).type) for t in tables if n in t.schema.names}) > 1}
        fixed = [t.cast(pa.schema([pa.field(f.name, pa.string()) if f.name in conflicting else f for f in t.schema]))
                 for t in tables]
        return pa.concat_tables(fixed, promote_options="permissive")


def to_parquet(table) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def entry(digest: str, table) -> dict:
    """The log entry of one flushed object: its rows, time span and versions."""
    import pyarrow.compute as pc

    span = pc.min_max(table["timestamp"])
    versions = pc.unique(table["version"]).to_pylist()
    return {"object": digest, "rows": table.num_rows,
            "first_ts": span["min"].as_py().isoformat(), "last_ts": span["max"].as_py().isoformat(),
            "versions": sorted(versions)}
