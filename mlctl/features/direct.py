"""Parquet files DuckDB can read itself for the capped join, with no Python pass.

The capped join's general path converts each batch in Python with sources.py's functions
and inserts it into DuckDB (most of its time at scale). For a parquet file whose columns
need no conversion, DuckDB's own ``read_parquet`` gives the same numbers: an INT64
timestamp is an instant whatever its unit, and ``epoch_ns`` of it is what
``timestamps_ns`` returns, when every value fits nanoseconds; integer and string keys and
plain values cross as they are; ``file_row_number`` is the row's position in the file.
A file qualifies only when all of its columns the join reads are such (checked from the
footer and DuckDB's DESCRIBE, no data read); any other falls back to the Python path,
which keeps the errors and the conversions (string times, dates, out-of-range times,
timestamp or decimal values ...) in one place.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlctl.store.sqltext import quote_ident, quote_str

INT64_MAX = 2**63 - 1
# DuckDB types holding nanoseconds exactly, and those holding coarser units (range checked)
NS_TIMES = {"TIMESTAMP_NS", "TIMESTAMPTZ_NS"}
COARSE_TIMES = {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_MS", "TIMESTAMP_S"}
INT_KEYS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
PLAIN_VALUES = INT_KEYS | {"BOOLEAN", "UBIGINT", "FLOAT", "DOUBLE", "VARCHAR"}
# ns per stored unit for a coarse DuckDB type: a nanosecond column read as one (DuckDB
# before TIMESTAMPTZ_NS read aware ns times as microseconds) would lose digits
NS_PER = {"microseconds": 1000, "milliseconds": 1000**2}


def entity_sql(con, path: Path, fmt: str, timestamp_column: str, keys: list[tuple[str, object]]) -> str | None:
    """SELECT rn, ts, k0, k1, ... straight from the entity file, or None when it needs the
    Python path. ``keys``: (column, arrow key type) per view."""
    file = _File.open(con, path, fmt)
    if file is None or not file.time_ok(timestamp_column):
        return None
    if not all(file.key_ok(column, kind) for column, kind in keys):
        return None
    cols = ["file_row_number AS rn", f"epoch_ns({quote_ident(timestamp_column)}) AS ts",
            *(f"{file.key(column, kind)} AS k{i}" for i, (column, kind) in enumerate(keys))]
    return f"SELECT {', '.join(cols)} FROM {file.scan()}"


def feature_sql(con, path: Path, fmt: str, view, features: list[str], key_type) -> str | None:
    """SELECT k, ts, created, pos, v0, ... of the view's valid rows straight from its source
    (features_<i>'s columns, see pit_sql), or None when it needs the Python path."""
    file = _File.open(con, path, fmt)
    source = view.source
    times = [source.timestamp, *([source.created_timestamp] if source.created_timestamp else [])]
    if file is None or not all(file.time_ok(column) for column in times):
        return None
    if not file.key_ok(view.join_key, key_type) or not all(file.value_ok(f) for f in features):
        return None
    key, ts = quote_ident(view.join_key), quote_ident(source.timestamp)
    created = (f"coalesce(epoch_ns({quote_ident(source.created_timestamp)}), {-(2**63)})"
               if source.created_timestamp else f"{-(2**63)}")
    cols = [f"{file.key(view.join_key, key_type)} AS k", f"epoch_ns({ts}) AS ts", f"{created}::BIGINT AS created",
            "file_row_number AS pos", *(f"{quote_ident(f)} AS v{j}" for j, f in enumerate(features))]
    return f"SELECT {', '.join(cols)} FROM {file.scan()} WHERE {key} IS NOT NULL AND {ts} IS NOT NULL"


def row_count(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


class _File:
    """A parquet file's footer and the types DuckDB reads its columns as."""

    def __init__(self, path: Path, footer, arrow_schema, duck_types: dict):
        self.path, self.footer, self.arrow, self.duck = path, footer, arrow_schema, duck_types

    @classmethod
    def open(cls, con, path: Path, fmt: str):
        import duckdb
        import pyarrow as pa
        import pyarrow.parquet as pq

        if fmt != "parquet":
            return None
        try:
            footer, arrow = pq.read_metadata(path), pq.read_schema(path)
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({quote_str(str(path))})").fetchall()
        except (pa.ArrowException, OSError, duckdb.Error):
            return None  # the Python path reports what is wrong with it
        return cls(path, footer, arrow, {row[0]: row[1] for row in described})

    def scan(self) -> str:
        return f"read_parquet({quote_str(str(self.path))}, file_row_number = true)"

    def time_ok(self, column: str) -> bool:
        """An INT64 timestamp whose values are all nanosecond instants (from the footer's
        statistics when its unit is coarser)."""
        import pyarrow as pa

        kind = self.duck.get(column)
        if not pa.types.is_timestamp(self.arrow.field(column).type) or self._physical(column) != "INT64":
            return False
        if kind in NS_TIMES:
            return True
        return kind in COARSE_TIMES and self._fits_ns(column)

    def key_ok(self, column: str, key_type) -> bool:
        import pyarrow as pa

        arrow, kind = self.arrow.field(column).type, self.duck.get(column)
        if key_type == pa.int64():
            return pa.types.is_integer(arrow) and kind in INT_KEYS
        return (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)) and kind == "VARCHAR"

    def key(self, column: str, key_type) -> str:
        import pyarrow as pa

        return f"{quote_ident(column)}::{'BIGINT' if key_type == pa.int64() else 'VARCHAR'}"

    def value_ok(self, column: str) -> bool:
        import pyarrow as pa

        arrow = self.arrow.field(column).type
        plain = (pa.types.is_boolean(arrow) or pa.types.is_integer(arrow) or pa.types.is_float32(arrow)
                 or pa.types.is_float64(arrow) or pa.types.is_string(arrow) or pa.types.is_large_string(arrow))
        return plain and self.duck.get(column) in PLAIN_VALUES

    def _leaf(self, column: str) -> int | None:
        """The parquet column index of a top-level column (None for a nested one)."""
        schema = self.footer.schema
        names = [schema.column(j).path for j in range(len(schema))]
        return names.index(column) if column in names else None

    def _physical(self, column: str) -> str | None:
        j = self._leaf(column)
        return None if j is None else self.footer.schema.column(j).physical_type

    def _fits_ns(self, column: str) -> bool:
        meta = self.footer
        j = self._leaf(column)
        unit = json.loads(meta.schema.column(j).logical_type.to_json()).get("timeUnit")
        if unit not in NS_PER:
            return False
        for g in range(meta.num_row_groups):
            chunk = meta.row_group(g).column(j)
            stats = chunk.statistics
            if chunk.num_values == 0 or (stats is not None and stats.null_count == chunk.num_values):
                continue
            if stats is None or not stats.has_min_max:
                return False
            low, high = stats.min_raw * NS_PER[unit], stats.max_raw * NS_PER[unit]
            if low < -(2**63) or high > INT64_MAX:
                return False
        return True
