"""Reading offline data (parquet or CSV) as pyarrow tables, and turning its timestamp and
join-key columns into the arrays the joins work on (int64 ns UTC; integer key codes)."""

from __future__ import annotations

from pathlib import Path

from mlctl.data.api import pull_command
from mlctl.errors import UsageError
from mlctl.features import definitions
from mlctl.features.definitions import FILENAME, Definitions, FeatureView
from mlctl.store.sqltext import first_line


def file_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise UsageError(f"{path}: cannot tell the format; use a .parquet or .csv file")


def read_columns_names(path: Path, fmt: str) -> list[str]:
    """The column names, read from the header or the parquet footer only."""
    try:
        if fmt == "csv":
            import csv

            with open(path, newline="", encoding="utf-8") as f:
                return next(csv.reader(f), [])
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read as {fmt}: {first_line(exc)}") from None


def load_definitions(root, check_sources: bool | list[str] = False) -> Definitions:
    """Parse features.yaml at ``root``; ``check_sources``: True for every view, or a list of
    view names whose source files and columns to check too."""
    defs = definitions.load(root)
    if check_sources:
        names = list(defs.views) if check_sources is True else check_sources
        for name in names:
            check_view_columns(defs, defs.view(name))
    return defs


def check_view_columns(defs: Definitions, view: FeatureView) -> None:
    source = view.source
    path = defs.source_path(source)
    where = f"sources.{source.name}.path"
    if not path.is_file():
        raise UsageError(f"{FILENAME}: {where}: source file {source.path} does not exist",
                         hint=f"create it, or `{pull_command(source.path)}` if it is tracked")
    columns = set(read_columns_names(path, source.format))
    listing = ", ".join(sorted(columns))
    for key, column in ((f"sources.{source.name}.timestamp", source.timestamp),
                        (f"sources.{source.name}.created_timestamp", source.created_timestamp),
                        (f"entities.{view.entity.name}.join_key", view.join_key)):
        if column and column not in columns:
            raise UsageError(f"{FILENAME}: {key}: column {column!r} is not in {source.path} (columns: {listing})")
    for i, feature in enumerate(view.features):
        if feature not in columns:
            raise UsageError(f"{FILENAME}: feature_views.{view.name}.features[{i}]: {feature!r} is not a "
                             f"column of {source.path} (columns: {listing})")


def read_table(path: Path, fmt: str, columns: list[str] | None = None):
    """A pyarrow Table of ``columns`` (all when None)."""
    import pyarrow as pa

    try:
        if fmt == "csv":
            import pyarrow.csv as pcsv

            convert = pcsv.ConvertOptions(include_columns=columns) if columns else None
            return pcsv.read_csv(path, convert_options=convert)
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read as {fmt}: {first_line(exc)}") from None


def read_view(defs: Definitions, view: FeatureView):
    """The view's source columns: join key, timestamps, features."""
    cols = [view.join_key, *view.source.columns(), *view.features]
    return read_table(defs.source_path(view.source), view.source.format, cols)


def timestamps_ns(column, what: str):
    """(int64 ns UTC ndarray, valid mask) for a timestamp column: aware values converted to
    UTC, naive values taken as UTC, ISO strings parsed; numbers are refused."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if pa.types.is_null(kind):
        return np.zeros(len(column), dtype=np.int64), np.zeros(len(column), dtype=bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = _parse_strings(column, what)
    elif pa.types.is_date(kind):
        column = column.cast(pa.timestamp("s"))
    elif not pa.types.is_timestamp(kind):
        raise UsageError(f"{what} holds {kind} values, not timestamps",
                         hint="store datetimes, or ISO 8601 strings in CSV")
    try:
        # the stored integers are UTC instants for aware and naive timestamps alike
        as_ns = column.cast(pa.timestamp("ns", tz=None) if column.type.tz is None else pa.timestamp("ns", tz="UTC"))
    except pa.ArrowInvalid:
        raise UsageError(f"{what} has timestamps outside 1677-2262, which nanoseconds cannot hold") from None
    valid = pc.is_valid(as_ns).to_numpy(zero_copy_only=False)
    values = pc.fill_null(as_ns.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    return values.astype(np.int64, copy=False), valid


def _parse_strings(column, what: str):
    import pandas as pd
    import pyarrow as pa

    try:
        parsed = pd.to_datetime(pd.Series(column.to_pandas()), utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError) as exc:
        raise UsageError(f"{what}: cannot parse as ISO 8601 timestamps: {first_line(exc)}") from None
    return pa.array(parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"))


def key_kind(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "str"
    if pa.types.is_null(arrow_type):
        return "null"
    return str(arrow_type)


def key_values(column, what: str):
    """(values as a numpy array without nulls, valid mask, kind) of a join-key column."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = key_kind(column.type)
    if kind not in ("int", "str", "null"):
        raise UsageError(f"{what} holds {column.type} values; join keys must be integers or strings")
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    if kind == "null":
        return np.zeros(len(column), dtype=np.int64), valid, kind
    filled = pc.fill_null(column.cast(pa.int64()) if kind == "int" else column, 0 if kind == "int" else "")
    return filled.to_numpy(zero_copy_only=False), valid, kind


