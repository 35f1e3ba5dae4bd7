"""Offline data (parquet or CSV) read as a stream of pyarrow record batches, for the
out-of-core join: the same files and types as sources.read_table, a batch at a time.

A CSV streamed this way takes its column types from its first block (1 MB), where a whole
read looks at every block; a column whose later values do not fit that type is a usage
error here, with the way out (parquet) in the hint.
"""

from __future__ import annotations

from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.sqltext import first_line

BATCH_ROWS = 65_536
READ_BUFFER = 1 << 20  # bytes read from a parquet file at a time


def schema(path: Path, fmt: str):
    """The arrow schema the batches will have."""
    if fmt == "csv":
        with _open_csv(path) as reader:
            return reader.schema
    import pyarrow.parquet as pq

    return _guard(path, fmt, lambda: pq.read_schema(path))


def read_batches(path: Path, fmt: str, columns: list[str] | None = None):
    """Yield the file's rows as record batches of ``columns`` (all when None), in order."""
    import pyarrow as pa

    try:
        if fmt == "csv":
            with _open_csv(path, columns) as reader:
                yield from reader
            return
        import pyarrow.parquet as pq

        # pre_buffer (pyarrow's default) fetches every column chunk of the file ahead of
        # the batches asked for: a whole 250 MB file held for a 65k-row batch. Off, with a
        # bounded read buffer, a batch costs its own pages only.
        with pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER) as f:
            yield from f.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_pandas_metadata=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        hint = "convert it to parquet (its types are read from the first block when streamed)" if fmt == "csv" else None
        raise UsageError(f"{path}: cannot read as {fmt}: {first_line(exc)}", hint=hint) from None


def _open_csv(path: Path, columns: list[str] | None = None):
    import pyarrow.csv as pcsv

    convert = pcsv.ConvertOptions(include_columns=columns) if columns else None
    return _guard(path, "csv", lambda: pcsv.open_csv(path, convert_options=convert))


def _guard(path: Path, fmt: str, call):
    import pyarrow as pa

    try:
        return call()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read as {fmt}: {first_line(exc)}") from None


