"""Columns reduced under a memory cap (`monitor drift --memory`).

A numeric column whose sides fit under the cap (16 bytes a row counted) is converted batch
by batch into one array sorted in place by numpy. A longer one is streamed batch by batch
from its source into DuckDB, which groups its
finite values into (value, count) runs in value order, spilling to disk past its memory
limit; the statistics then read the runs back in batches (``sample.RunSample``), never the
whole column. A categorical column is counted batch by batch (memory grows with its number
of categories, not rows). Each batch goes through the same conversions as the in-memory
path (``columns.numeric_values``, ``columns.finite_values``, ``columns.count_categories``), so
the reduced column is the same, value for value.
"""

from __future__ import annotations

import contextlib
import os
from itertools import count

from mlctl.monitoring.columns import (CATEGORICAL, DATETIME, NUMERIC, ColumnData, arrow_kind, count_categories,
                                      finite_values, float32_values, numeric_values)
from mlctl.monitoring.readers import row_groups
from mlctl.monitoring.sample import ArraySample, RunSample, runs_of
from mlctl.store.memory import BASELINE, limit_duckdb, spill_folder, within_cap
from mlctl.store.sqltext import quote_ident, quote_str

READ_ROWS = 1 << 18   # values per row group of the sorted file, read back one at a time
# A numeric column that fits is sorted in memory (numpy's sort, ~20x faster than DuckDB's
# external sort and its passes): its finite values, converted batch by batch, are copied
# into one float64 array sorted in place, 8 bytes a row (a float32 column: 4, sorted, then
# widened into 8 beside them; 16 counted: that and the allocator's slack); both sides of a
# column must fit in what the cap leaves above the process's baseline.
IN_MEMORY_BYTES_PER_ROW = 16
STREAMED = "SELECT v FROM incoming"


class OutOfCore:
    """A DuckDB database in a spill folder, bounded by ``cap``, opened when a column first
    needs it (a check whose columns all fit never imports DuckDB: 40 MB, 0.1 s); ``column``
    reduces one column of a source, ``release`` drops what the last columns held."""

    def __init__(self, cap: int):
        self.cap = cap
        self._names = count()
        self._files: list[str] = []
        self._con = None

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        return self

    @property
    def con(self):
        if self._con is None:
            import duckdb

            self.folder = self._stack.enter_context(spill_folder())
            self._con = duckdb.connect(os.path.join(self.folder, "drift.duckdb"))
            self._stack.callback(self._con.close)
            limit_duckdb(self._con, self.cap, self.folder)
            self._con.execute("SET preserve_insertion_order = true")
        return self._con

    def __exit__(self, *exc):
        self._stack.close()

    def column(self, source, name: str) -> ColumnData:
        arrow_type, batches = source.column_batches(name)
        kind = arrow_kind(arrow_type)
        if kind in (NUMERIC, DATETIME) and self._fits(source):
            return _sorted_in_memory(source, name, arrow_type, batches, kind)
        if kind in (NUMERIC, DATETIME):
            with within_cap(self.cap, lambda shown, error: f"{shown} is too small to sort column {name!r}: {error}",
                            hint="give it a larger --memory"):
                return self._numeric(source, name, arrow_type, batches, kind)
        if kind == CATEGORICAL:
            return _categorical(name, arrow_type, batches)
        rows = missing = 0
        for batch in batches:
            rows, missing = rows + len(batch), missing + batch.null_count
        return ColumnData(name, kind, rows, missing, str(arrow_type))

    def _fits(self, source) -> bool:
        """Fits with the other side's column beside it: this side's rows counted twice (if
        the other side is longer, its own check counted it twice)."""
        return source.num_rows() * IN_MEMORY_BYTES_PER_ROW * 2 <= self.cap - BASELINE

    def release(self) -> None:
        for path in self._files:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._files.clear()

    def _numeric(self, source, name, arrow_type, batches, kind) -> ColumnData:
        """Sort the finite values in DuckDB into a parquet file in the spill folder; the
        sample reads it back batch by batch as runs."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        con = self.con  # opened now, its spill folder with it
        path = os.path.join(self.folder, f"sorted_{next(self._names)}.parquet")
        self._files.append(path)
        rows, source_sql = self._values_sql(source, name, arrow_type, batches)
        try:
            con.execute(f"COPY (SELECT v FROM ({source_sql}) WHERE isfinite(v) ORDER BY v) TO {quote_str(path)} "
                        f"(FORMAT parquet, ROW_GROUP_SIZE {READ_ROWS})")
        finally:
            if source_sql == STREAMED:
                con.unregister("incoming")
        finite = pq.read_metadata(path).num_rows
        sample = RunSample(finite, None, lambda: _read_runs(path))
        integer = kind == NUMERIC and pa.types.is_integer(arrow_type)
        return ColumnData(name, kind, rows(), rows() - finite, str(arrow_type), integer, sample)

    def _values_sql(self, source, name, arrow_type, batches):
        """(rows counter, SQL of one float64 column ``v``, -0.0 as 0.0). Plain numbers in
        parquet files are read by DuckDB itself (an integer or float to double is the same
        IEEE conversion numpy does); any other type is converted batch by batch in Python
        by the in-memory path's own function and streamed in. So are files whose names
        DuckDB would take for a glob pattern."""
        import pyarrow as pa

        paths = source.parquet_paths()
        plain = pa.types.is_integer(arrow_type) or arrow_type in (pa.float32(), pa.float64())
        if plain and paths and not any(set(str(p)) & set("*?[{") for p in paths):
            files = ", ".join(quote_str(p) for p in paths)
            return source.num_rows, (f"SELECT CAST({quote_ident(name)} AS DOUBLE) + 0.0 AS v "
                                           f"FROM read_parquet([{files}], union_by_name = true)")
        tally = {"rows": 0}
        schema = pa.schema([("v", pa.float64())])
        self.con.register("incoming", pa.RecordBatchReader.from_batches(schema, _converted(batches, schema, tally)))
        return (lambda: tally["rows"]), STREAMED


def _sorted_in_memory(source, name, arrow_type, batches, kind) -> ColumnData:
    """The in-memory path's reduction (``columns.from_arrow``: the same conversions, value
    by value, so the same sorted array) in a fraction of its memory: batch by batch into
    one array of the source's length (pages past the finite values are never touched).
    A float32 column is sorted before it is widened (exact and order-keeping: the same
    array), half the sort's work."""
    import numpy as np
    import pyarrow as pa

    narrow = arrow_type == pa.float32()
    values = np.empty(source.num_rows(), np.float32 if narrow else np.float64)
    rows = filled = 0
    for batch in batches:
        filled += len(finite_values(float32_values(batch) if narrow else numeric_values(batch), out=values[filled:]))
        rows += len(batch)
    values = values[:filled]
    values.sort()
    if narrow:
        values = values.astype(np.float64)
    integer = kind == NUMERIC and pa.types.is_integer(arrow_type)
    return ColumnData(name, kind, rows, rows - filled, str(arrow_type), integer, ArraySample(values, bounded=True))


def _converted(batches, schema, tally):
    import pyarrow as pa

    for batch in batches:
        tally["rows"] += len(batch)
        finite = finite_values(numeric_values(batch))
        if len(finite):
            yield pa.record_batch([pa.array(finite)], schema=schema)


def _read_runs(path: str):
    """The sorted values as runs (distinct values, counts), batch by batch."""
    return runs_of(_sorted_chunks(path))


def _sorted_chunks(path: str):
    """The sorted file's values, row group by row group. Checked: a disorder would be a
    wrong answer, so it stops the check instead."""
    import numpy as np
    import pyarrow.parquet as pq

    last = None
    with pq.ParquetFile(path) as f:
        for column in row_groups(f, "v"):
            values = column.to_numpy()
            if len(values) == 0:
                continue
            if np.any(values[1:] < values[:-1]) or (last is not None and values[0] < last):
                raise RuntimeError(f"the sorted values in {path} are out of order")
            last = values[-1]
            yield values


def _categorical(name, arrow_type, batches) -> ColumnData:
    rows = missing = 0
    counts: dict[str, int] = {}
    for batch in batches:
        rows += len(batch)
        missing += count_categories(batch, counts)
    return ColumnData(name, CATEGORICAL, rows, missing, str(arrow_type), False, None, counts)
