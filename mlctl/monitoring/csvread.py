"""CSV input: small files parsed whole by pyarrow (type inference over the whole file);
large ones streamed batch by batch into a temporary parquet file of text columns, whose
types are inferred one column at a time when read. Memory stays at one batch or one
column, whatever the file's size."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.monitoring.readers import ParquetSource, arrow_message

BLOCK_BYTES = 8 << 20


def inferred_types() -> tuple:
    """The types a CSV text column is tried as, in order."""
    import pyarrow as pa

    return pa.int64(), pa.float64(), pa.bool_(), pa.timestamp("us")


def delimiter(path: Path) -> str:
    """Comma, unless the header line has none but tabs, semicolons or pipes (TSV, European CSV)."""
    with open(path, "rb") as f:
        header = f.readline().decode("utf-8", "replace")
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in ("\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def parse_options(path: Path):
    import pyarrow.csv as pacsv

    return pacsv.ParseOptions(delimiter=delimiter(path))


def read_csv(path: Path, label: str):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(path, parse_options=parse_options(path))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {label} as CSV: {arrow_message(exc)}") from None


def csv_to_parquet(path: Path, label: str, tmp_dir: Path | None) -> Path:
    """Stream the CSV into a temporary parquet file of text columns; returns its path."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    names = _header(path, label)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
    out = _temp_path(tmp_dir)
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
                                parse_options=parse_options(path), convert_options=convert)
        with pq.ParquetWriter(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(out)
        raise UsageError(f"cannot read {label} as CSV: {arrow_message(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(out)
        raise
    return out


def _header(path: Path, label: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16),
                                parse_options=parse_options(path))
        return list(reader.schema.names)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {label} as CSV: {arrow_message(exc)}") from None


def _temp_path(tmp_dir: Path | None) -> Path:
    from mlctl.store.atomic import temp_path_for

    folder = Path(tmp_dir) if tmp_dir else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    return temp_path_for(folder / "drift-csv.parquet")  # gc removes it if we are killed


class StreamedCsvSource(ParquetSource):
    """The temporary parquet of a large CSV: text columns typed when read."""

    def __init__(self, path: Path, label: str):
        super().__init__(path, label, cleanup=True)

    def read_column(self, name: str):
        return infer_type(super().read_column(name))

    def parquet_paths(self) -> list | None:
        return None  # text columns, typed by inference first

    def column_batches(self, name: str):
        """Batches typed as ``infer_type`` types the whole column: the first type every
        batch casts to (one pass per type tried)."""
        for target in inferred_types():
            if all(_casts(batch, target) for batch in super().column_batches(name)[1]):
                return target, (_cast(batch, target) for batch in super().column_batches(name)[1])
        return super().column_batches(name)


def infer_type(column):
    """Text as integers, else floats, else booleans, else timestamps, else text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(column)
    for target in inferred_types():
        try:
            return pc.cast(stripped, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return column


def _casts(batch, target) -> bool:
    import pyarrow as pa

    try:
        _cast(batch, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _cast(batch, target):
    import pyarrow.compute as pc

    return pc.cast(pc.utf8_trim_whitespace(batch), target)
