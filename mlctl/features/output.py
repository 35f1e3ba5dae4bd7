"""Where `feature join` writes its training set: the format follows the output's extension.

Checked before the join runs (an unknown extension is a usage error, not parquet bytes
in a ``.csv`` file), then written atomically. Only parquet carries the lineage record id
in the file itself (key-value metadata); the other formats have nowhere to put it, and
the record stays findable by its ref (``features/joins/<id>``, whose summary names the
output path).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from mlctl.errors import UsageError

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".json": "json"}


def output_format(output: str | os.PathLike) -> str:
    """The format named by the output's extension; exit 2 for any other."""
    path = Path(output)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"output {path}: unknown extension {path.suffix or '(none)'!r}",
                         hint="use .parquet, .csv, .jsonl or .json")
    if path.is_dir():
        raise UsageError(f"output {path} is a directory")
    return fmt


def write_table(table, output: str | os.PathLike, fmt: str) -> None:
    """Write ``table`` (a pyarrow Table) to ``output`` in ``fmt``, atomically."""
    from mlctl.store.atomic import atomic_writer

    writer = {"parquet": _parquet, "csv": _csv, "jsonl": _jsonl, "json": _json}[fmt]
    try:
        with atomic_writer(Path(output), "wb") as f:
            writer(table, f)
    except FileNotFoundError:
        raise UsageError(f"cannot write {output}: its folder does not exist") from None


def _parquet(table, f) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, f)


def _csv(table, f) -> None:
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, f)  # timestamps as ISO 8601, nulls as empty fields


def _jsonl(table, f) -> None:
    if table.num_rows:  # pandas writes one empty line for no rows
        table.to_pandas().to_json(f, orient="records", lines=True, date_format="iso", date_unit="us")


def _json(table, f) -> None:
    table.to_pandas().to_json(f, orient="records", date_format="iso", date_unit="us")


@contextmanager
def stream_writer(output: str | os.PathLike, fmt: str, schema, nullable_ints: frozenset = frozenset()):
    """A ``write(batch)`` for record batches of ``schema``, written as they come (the out-of-core
    join), giving the same file as write_table on their concatenation. ``nullable_ints``: the
    columns that hold a null anywhere, which pandas (json, jsonl) turns to floats or objects in
    the whole table and so must in every batch."""
    from mlctl.store.atomic import atomic_writer

    try:
        with atomic_writer(Path(output), "wb") as f:
            opened = {"parquet": _parquet_stream, "csv": _csv_stream, "jsonl": _jsonl_stream,
                      "json": _json_stream}[fmt](f, schema, nullable_ints)
            with opened as write:
                yield write
    except FileNotFoundError:
        raise UsageError(f"cannot write {output}: its folder does not exist") from None


@contextmanager
def _parquet_stream(f, schema, _nulls):
    import pyarrow.parquet as pq

    with pq.ParquetWriter(f, schema) as writer:
        yield writer.write_batch


@contextmanager
def _csv_stream(f, schema, _nulls):
    import pyarrow.csv as pacsv

    with pacsv.CSVWriter(f, schema) as writer:
        yield writer.write_batch


@contextmanager
def _jsonl_stream(f, _schema, nulls):
    def write(batch) -> None:
        if batch.num_rows:
            _frame(batch, nulls).to_json(f, orient="records", lines=True, date_format="iso", date_unit="us")

    yield write


@contextmanager
def _json_stream(f, _schema, nulls):
    wrote = []

    def write(batch) -> None:
        if batch.num_rows:
            text = _frame(batch, nulls).to_json(orient="records", date_format="iso", date_unit="us")
            f.write((b"," if wrote else b"[") + text[1:-1].encode())
            wrote.append(True)

    yield write
    f.write(b"]" if wrote else b"[]")


def _frame(batch, nulls):
    """The batch as pandas, with the dtypes the whole table would have: an integer or bool
    column with a null anywhere is float64 or object in every batch."""
    frame = batch.to_pandas()
    for name in nulls:
        dtype = frame[name].dtype
        if dtype.kind in "iu":
            frame[name] = frame[name].astype("float64")
        elif dtype.kind == "b":
            frame[name] = frame[name].astype(object)
    return frame
