"""Columns reduced under a memory cap (`monitor drift --memory`).

A numeric column is streamed batch by batch from its source into DuckDB, which groups its
finite values into (value, count) runs in value order, spilling to disk past its memory
limit; the statistics then read the runs back in batches (``sample.RunSample``), never the
whole column. A categorical column is counted batch by batch (memory grows with its number
of categories, not rows). Each batch goes through the same conversions as the in-memory
path (``columns.numeric_values``, ``columns.finite_values``, ``columns.category_key``), so
the reduced column is the same, value for value.
"""

from __future__ import annotations

import contextlib
import os
from itertools import count

from mlctl.monitoring.columns import (CATEGORICAL, DATETIME, NUMERIC, ColumnData, arrow_kind, category_key,
                                      finite_values, numeric_values)
from mlctl.monitoring.sample import RunSample
from mlctl.store.memory import limit_duckdb, spill_folder

READ_ROWS = 1 << 18   # runs per batch read back from DuckDB


class OutOfCore:
    """A DuckDB database in a spill folder, bounded by ``cap``; ``column`` reduces one
    column of a source, ``release`` drops what the last columns held."""

    def __init__(self, cap: int):
        self.cap = cap
        self._names = count()
        self._tables: list[str] = []

    def __enter__(self):
        import duckdb

        self._stack = contextlib.ExitStack()
        folder = self._stack.enter_context(spill_folder())
        self.con = duckdb.connect(os.path.join(folder, "drift.duckdb"))
        self._stack.callback(self.con.close)
        limit_duckdb(self.con, self.cap, folder)
        self.con.execute("SET preserve_insertion_order = true")
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def column(self, source, name: str) -> ColumnData:
        arrow_type, batches = source.column_batches(name)
        kind = arrow_kind(arrow_type)
        if kind in (NUMERIC, DATETIME):
            return self._numeric(name, arrow_type, batches, kind)
        if kind == CATEGORICAL:
            return _categorical(name, arrow_type, batches)
        rows = missing = 0
        for batch in batches:
            rows, missing = rows + len(batch), missing + batch.null_count
        return ColumnData(name, kind, rows, missing, str(arrow_type))

    def release(self) -> None:
        for table in self._tables:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self._tables.clear()

    def _numeric(self, name, arrow_type, batches, kind) -> ColumnData:
        import pyarrow as pa

        table = f"runs_{next(self._names)}"
        self._tables.append(table)
        tally = {"rows": 0, "finite": 0}
        schema = pa.schema([("v", pa.float64())])
        stream = pa.RecordBatchReader.from_batches(schema, _finite_batches(batches, schema, tally))
        self.con.register("incoming", stream)
        try:
            self.con.execute(f"CREATE TABLE {table} AS SELECT v, count(*)::BIGINT AS c FROM incoming "
                             "GROUP BY v ORDER BY v")
        finally:
            self.con.unregister("incoming")
        distinct = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        sample = RunSample(tally["finite"], distinct, lambda: _read_runs(self.con, table))
        integer = kind == NUMERIC and pa.types.is_integer(arrow_type)
        return ColumnData(name, kind, tally["rows"], tally["rows"] - tally["finite"], str(arrow_type), integer, sample)


def _finite_batches(batches, schema, tally):
    import pyarrow as pa

    for batch in batches:
        finite = finite_values(numeric_values(batch))
        tally["rows"] += len(batch)
        tally["finite"] += len(finite)
        if len(finite):
            yield pa.record_batch([pa.array(finite)], schema=schema)


def _read_runs(con, table: str):
    """The runs in value order, batch by batch (checked: a disorder would be a wrong
    answer, so it stops the check instead)."""
    import numpy as np

    reader = con.execute(f"SELECT v, c FROM {table}").fetch_record_batch(READ_ROWS)
    last = -np.inf
    for batch in reader:
        values = batch.column(0).to_numpy()
        counts = batch.column(1).to_numpy()
        if len(values) == 0:
            continue
        if values[0] <= last or np.any(values[1:] <= values[:-1]):
            raise RuntimeError(f"DuckDB returned the runs of {table} out of order")
        last = values[-1]
        yield values, counts


def _categorical(name, arrow_type, batches) -> ColumnData:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = missing = 0
    counts: dict[str, int] = {}
    for batch in batches:
        rows += len(batch)
        if pa.types.is_dictionary(batch.type):
            batch = pc.cast(batch, batch.type.value_type)
        if pa.types.is_null(batch.type):
            missing += len(batch)
            continue
        counted = pc.value_counts(batch)
        for value, n in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist()):
            if value is None:
                missing += n
            else:
                key = category_key(value)
                counts[key] = counts.get(key, 0) + n
    return ColumnData(name, CATEGORICAL, rows, missing, str(arrow_type), False, None, counts)
