"""One column of one side, reduced to what the statistics need.

Numeric columns become their sorted finite values (float64); categorical columns their
value counts (keys as text, so ``1`` and ``1.0`` and ``"1"`` meet). Missing means null,
NaN or +-inf; it is counted, never compared as a value. Datetimes keep their values as
epoch seconds, compared only when the config asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.monitoring.sample import ArraySample

NUMERIC, CATEGORICAL, DATETIME, UNSUPPORTED = "numeric", "categorical", "datetime", "unsupported"
MAX_FEW_VALUES = 5          # any numeric column with at most this many values is categorical
MAX_FEW_INT_VALUES = 20     # integer columns: at most this many values is categorical


@dataclass
class ColumnData:
    name: str
    kind: str
    rows: int
    missing: int
    type_name: str
    integer: bool = False
    values: object = None                         # numeric/datetime: a sample.ArraySample or RunSample
    counts: dict[str, int] = field(default_factory=dict)  # categorical
    note: str | None = None                       # how it was reinterpreted, for the result

    @property
    def present(self) -> int:
        return self.rows - self.missing

    def distinct(self) -> int:
        if self.kind == CATEGORICAL:
            return len(self.counts)
        return self.values.distinct() if self.values is not None else 0

    def as_categorical(self) -> "ColumnData":
        """A numeric column with few values, counted per value."""
        counts = run_counts(*self.values.runs())
        return ColumnData(self.name, CATEGORICAL, self.rows, self.missing, self.type_name,
                          self.integer, None, counts)


def from_arrow(name: str, array) -> ColumnData:
    """Reduce an arrow (Chunked)Array to a ColumnData."""
    import pyarrow as pa

    kind = arrow_kind(array.type)
    type_name = str(array.type)
    if kind in (NUMERIC, DATETIME):
        return _numeric(name, array, type_name, kind == NUMERIC and pa.types.is_integer(array.type), kind)
    if kind == CATEGORICAL:
        return _categorical(name, array, type_name)
    return ColumnData(name, UNSUPPORTED, len(array), array.null_count, type_name)


def arrow_kind(arrow_type) -> str:
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(arrow_type):
        return arrow_kind(arrow_type.value_type)
    if t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type) or t.is_duration(arrow_type):
        return NUMERIC
    if t.is_timestamp(arrow_type) or t.is_date(arrow_type):
        return DATETIME
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_boolean(arrow_type) or t.is_null(arrow_type):
        return CATEGORICAL
    if getattr(t, "is_string_view", lambda _: False)(arrow_type):
        return CATEGORICAL
    return UNSUPPORTED


def _numeric(name, array, type_name, integer, kind=NUMERIC) -> ColumnData:
    values = numeric_values(array)
    finite = finite_values(values)
    finite.sort()
    return ColumnData(name, kind, len(values), len(values) - len(finite), type_name, integer, ArraySample(finite))


def finite_values(values, out=None):
    """The finite values, -0.0 as 0.0 (equal values must sort and count as one); with
    ``out``, written into its start (it must be long enough) and that part returned."""
    import numpy as np

    keep = np.isfinite(values)
    if out is None:
        finite = values[keep]
        finite += 0.0
        return finite
    finite = out[:int(np.count_nonzero(keep))]
    if len(finite) == len(values):  # all finite, the usual case: one pass, no copy between
        return np.add(values, 0.0, out=finite)
    np.compress(keep, values, out=finite)
    finite += 0.0
    return finite


def numeric_values(array):
    """An arrow array of a numeric, datetime or duration type as float64 numpy (nulls NaN);
    datetimes as epoch seconds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = pc.cast(array, array.type.value_type)
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        array = _epoch_seconds(array)
    if pa.types.is_duration(array.type):
        array = pc.cast(array, pa.int64())
    return _to_numpy(pc.cast(array, pa.float64(), safe=False))


def float32_values(array):
    """A float32 arrow array as float32 numpy, nulls NaN: ``numeric_values`` but for the
    widening to float64, which is exact and keeps order (so it may wait until after a sort)."""
    import numpy as np

    return _to_numpy(array, np.float32)


def _to_numpy(array, dtype=None):
    """A float64 (or ``dtype``) arrow array as numpy, nulls as NaN, straight from its
    buffers (arrow's own to_numpy imports pandas: a second of startup)."""
    import numpy as np

    dtype = dtype or np.float64

    if hasattr(array, "combine_chunks"):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    n, offset = len(array), array.offset
    if n == 0:
        return np.empty(0, dtype)
    data = np.frombuffer(array.buffers()[1], dtype=dtype, count=n + offset)[offset:]
    if array.null_count == 0:
        return data
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, bitorder="little", count=n + offset)[offset:].astype(bool)
    values = data.copy()
    values[~valid] = np.nan
    return values


def _epoch_seconds(array):
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_date(array.type):
        array = pc.cast(array, pa.timestamp("s"))
    unit = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[array.type.unit]
    return pc.divide(pc.cast(pc.cast(array, pa.int64()), pa.float64()), unit)


def _categorical(name, array, type_name) -> ColumnData:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = pc.cast(array, array.type.value_type)
    if pa.types.is_null(array.type):
        return ColumnData(name, CATEGORICAL, len(array), len(array), type_name)
    counts: dict[str, int] = {}
    missing = count_categories(array, counts)
    return ColumnData(name, CATEGORICAL, len(array), missing, type_name, False, None, counts)


def count_categories(array, counts: dict[str, int]) -> int:
    """Add ``array``'s values to ``counts`` by category key; returns how many are missing.
    Shared by the in-memory path and the capped one (batch by batch), so both count alike."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):  # chunk by chunk: arrow cannot count dictionaries that differ at once
        return sum(count_categories(chunk, counts) for chunk in array.chunks)
    value_type = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_null(value_type):
        return len(array)
    missing = 0
    counted = pc.value_counts(array)  # a dictionary's indices are counted, its rows never decoded (a null index or value: None)
    for value, n in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist()):
        if value is None:
            missing += n
        else:
            key = category_key(value)
            counts[key] = counts.get(key, 0) + n
    return missing


def category_key(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def run_counts(values, counts) -> dict[str, int]:
    """Distinct sorted values and their counts as category counts."""
    return {category_key(float(v)): int(c) for v, c in zip(values, counts)}


def few_values(ref: ColumnData, cur: ColumnData) -> bool:
    """Numeric columns with few distinct values are compared as categories."""
    limit = MAX_FEW_INT_VALUES if (ref.integer and cur.integer) else MAX_FEW_VALUES
    if ref.distinct() > limit or cur.distinct() > limit:
        return False
    import numpy as np

    pooled = np.union1d(ref.values.runs()[0], cur.values.runs()[0])
    return 0 < len(pooled) <= limit
