"""The column readers every drift source is: a DataFrame, an arrow table, parquet files.

Each reads one column at a time (parquet straight from disk), so a drift check holds one
column of each side in memory, not two whole tables. Opening a spec: sources.py.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from pathlib import Path

from mlctl.errors import UsageError

BATCH_ROWS = 1 << 20   # rows per batch when a column is streamed (out of core)


class Source(ABC):
    """A table read column by column. ``meta_columns`` are not features."""

    label: str = ""
    meta_columns: frozenset = frozenset()
    model: str | None = None

    @abstractmethod
    def column_names(self) -> list[str]:
        """The columns, in file order."""

    @abstractmethod
    def read_column(self, name: str):
        """The column as a pyarrow ChunkedArray."""

    @abstractmethod
    def num_rows(self) -> int:
        """The number of rows."""

    def column_batches(self, name: str):
        """The column as (its arrow type, an iterator of arrow arrays of that type): what the
        out-of-core path reads. This default reads the whole column (sources held in memory
        anyway, and the prediction log); parquet streams it batch by batch."""
        column = self.read_column(name)
        return column.type, iter(column.chunks)

    def parquet_paths(self) -> list | None:
        """The parquet files DuckDB may read this source's columns from as they are (None:
        the columns need converting first)."""
        return None

    def to_pandas(self, columns: list[str] | None = None):
        import pyarrow as pa

        names = columns if columns is not None else self.column_names()
        missing = [c for c in names if c not in self.column_names()]
        if missing:
            raise UsageError(f"{self.label} has no column {', '.join(map(repr, missing))}")
        table = pa.table({name: self.read_column(name) for name in names}) if names else pa.table({})
        return table.to_pandas()

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FrameSource(Source):
    """A pandas DataFrame, converted to arrow one column at a time."""

    def __init__(self, frame, label: str = "DataFrame"):
        self.frame, self.label = frame, label

    def column_names(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def read_column(self, name: str):
        import pyarrow as pa

        series = self.frame[name]
        try:
            return pa.chunked_array([pa.Array.from_pandas(series)])
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python types in an object column
            text = [None if v is None or v != v else str(v) for v in series.tolist()]
            return pa.chunked_array([pa.array(text, pa.string())])

    def num_rows(self) -> int:
        return len(self.frame)


class TableSource(Source):
    """An arrow table already in memory."""

    def __init__(self, table, label: str):
        self.table, self.label = table, label

    def column_names(self) -> list[str]:
        return list(self.table.column_names)

    def read_column(self, name: str):
        return self.table.column(name)

    def num_rows(self) -> int:
        return self.table.num_rows


class ParquetSource(Source):
    """A parquet file or a folder of parquet files, read column by column (pyarrow.parquet:
    pyarrow.dataset would import pandas, a second of startup for nothing)."""

    def __init__(self, path: Path, label: str, cleanup: bool = False):
        import pyarrow.parquet as pq

        self.path, self.label, self._cleanup = path, label, cleanup
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file()) if path.is_dir() else [path]
        if not files:
            raise UsageError(f"{label} is a folder with no .parquet files")
        try:
            self.files = [pq.ParquetFile(f) for f in files]
            self.paths = files
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise UsageError(f"cannot read {label} as parquet: {arrow_message(exc)}") from None
        names: dict[str, None] = {}
        for f in self.files:
            names.update(dict.fromkeys(f.schema_arrow.names))
        self._names = list(names)

    def column_names(self) -> list[str]:
        return self._names

    def read_column(self, name: str):
        import pyarrow as pa

        try:
            chunks = [f.read(columns=[name]).column(0) if name in f.schema_arrow.names
                      else pa.nulls(f.metadata.num_rows) for f in self.files]
        except Exception as exc:
            raise UsageError(f"cannot read column {name!r} of {self.label}: {arrow_message(exc)}") from None
        return unify_chunks(chunks)

    def num_rows(self) -> int:
        return sum(f.metadata.num_rows for f in self.files)

    def parquet_paths(self) -> list | None:
        return self.paths

    def column_batches(self, name: str):
        """Batches of ``BATCH_ROWS`` rows, cast file by file to the type ``read_column``
        would give the whole column (``unify_chunks``'s rule)."""
        import pyarrow as pa

        types = [f.schema_arrow.field(name).type if name in f.schema_arrow.names else pa.null() for f in self.files]
        target = unified_type(types) if len(types) > 1 else types[0]
        return target, self._batches(name, target)

    def _batches(self, name: str, target):
        import pyarrow as pa

        for f in self.files:
            if name not in f.schema_arrow.names:
                rows = f.metadata.num_rows
                for start in range(0, rows, BATCH_ROWS):
                    yield pa.nulls(min(BATCH_ROWS, rows - start), target)
                continue
            try:
                for column in row_groups(f, name):
                    yield column if column.type == target else column.cast(target)
            except (pa.ArrowInvalid, OSError) as exc:
                raise UsageError(f"cannot read column {name!r} of {self.label}: {arrow_message(exc)}") from None

    def close(self) -> None:
        for f in getattr(self, "files", ()):
            f.close()
        if self._cleanup:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def row_groups(parquet_file, name: str):
    """One column of a parquet file, row group by row group (at most BATCH_ROWS rows per
    piece). Not ``iter_batches``: it reads ahead without bound (188 MB held for a 20M-row
    column, measured), the very thing a memory cap forbids."""
    for i in range(parquet_file.num_row_groups):
        column = parquet_file.read_row_group(i, columns=[name]).column(0)
        for start in range(0, len(column), BATCH_ROWS):
            yield column.slice(start, BATCH_ROWS).combine_chunks()


def unify_chunks(chunks):
    """One chunked array from pieces whose types may differ (int in one file, float in the
    next, or a column some files lack): numbers become float64, other mixes text."""
    import pyarrow as pa

    arrays = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in chunks]
    if len(arrays) == 1:
        return pa.chunked_array(arrays)
    target = unified_type([a.type for a in arrays])
    if pa.types.is_null(target):
        return pa.chunked_array(arrays, pa.null())
    return pa.chunked_array([a.cast(target) for a in arrays], target)


def unified_type(types):
    """The one type of pieces typed ``types``: numbers mixed become float64, other mixes
    text; pieces of no type (a file without the column) take the others' type."""
    import pyarrow as pa

    typed = {t for t in types if not pa.types.is_null(t)}
    if not typed:
        return pa.null()
    if len(typed) == 1:
        return typed.pop()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in typed):
        return pa.float64()
    return pa.string()


def arrow_message(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# -- opening a spec -----------------------------------------------------------------------
