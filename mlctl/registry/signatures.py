"""Signatures: the model's input columns and their types, and its output type.

    {"inputs": [{"name": "tenure", "type": "long"}, {"name": "bmi", "type": "double", "nullable": true}, ...],
     "output": {"type": "string"} | null, "source": "example" | "run data" | "mlflow" | "model"}

``nullable`` is present (true) on a column where the data had missing values: serving then
lets a request leave it null (NaN) there; elsewhere a null is a 400 unless the model is
known to accept NaN (see mlctl/serving/checks.py).

Types use MLflow's names (double, float, long, integer, boolean, string, datetime, binary)
plus ``any`` when only the name is known. They are inferred the way pandas would read the
file (so what serving and evaluation see matches), from a CSV or parquet file: the
``--example`` file, or the run's tracked data. Only the header and a sample are read, and
neither pandas nor the model is imported, so registration stays fast.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.registry.estimators import output_type

SAMPLE_ROWS = 100_000
NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
      "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
BOOLS = {"True", "False", "true", "false", "TRUE", "FALSE"}
TABULAR = (".csv", ".tsv", ".parquet", ".pq")


def is_tabular(name: str) -> bool:
    return name.lower().endswith(TABULAR)


def columns_of(path: Path, shown: str, name_hint: str | None = None) -> list[dict]:
    """[{name, type}] of a CSV or parquet file (``name_hint`` gives the format when the
    path itself has no suffix, e.g. a store object)."""
    name = (name_hint or path.name).lower()
    try:
        if name.endswith((".parquet", ".pq")) or _is_parquet(path):
            return _parquet_columns(path)
        return _csv_columns(path, "\t" if name.endswith(".tsv") else ",")
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{shown} is a folder; give a CSV or parquet file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{shown} is not a readable CSV file: {exc}") from None


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _parquet_columns(path: Path) -> list[dict]:
    import pyarrow.parquet as pq
    import pyarrow.lib

    try:
        schema = pq.read_schema(path)
    except (pyarrow.lib.ArrowException, OSError) as exc:
        raise UsageError(f"{path.name} is not a readable parquet file: {str(exc).splitlines()[0]}") from None
    with_nulls = _parquet_columns_with_nulls(path)
    return [_spec(f.name, _arrow_type(f.type), f.name in with_nulls) for f in schema
            if not f.name.startswith("__index_level_")]


def _spec(name: str, type_name: str, nullable: bool) -> dict:
    return {"name": name, "type": type_name, **({"nullable": True} if nullable else {})}


def _parquet_columns_with_nulls(path: Path) -> set[str]:
    """Columns whose row-group statistics count a null (the footer only; a column
    without statistics counts as having nulls, the safe side for serving)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    found = set()
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            stats = column.statistics
            if stats is None or not stats.has_null_count or stats.null_count > 0:
                found.add(column.path_in_schema.split(".")[0])
    return found


def _arrow_type(t) -> str:
    import pyarrow.types as pt

    if pt.is_dictionary(t):
        t = t.value_type
    checks = [(pt.is_boolean, "boolean"), (pt.is_int64, "long"), (pt.is_uint64, "long"), (pt.is_uint32, "long"),
              (pt.is_integer, "integer"), (pt.is_float32, "float"), (pt.is_float16, "float"),
              (pt.is_floating, "double"), (pt.is_decimal, "double"), (pt.is_string, "string"),
              (pt.is_large_string, "string"), (pt.is_timestamp, "datetime"), (pt.is_date, "datetime"),
              (pt.is_binary, "binary"), (pt.is_large_binary, "binary")]
    for check, name in checks:
        if check(t):
            return name
    return "any"


def _csv_columns(path: Path, delimiter: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise UsageError(f"{path.name} has no header row")
        kinds = [_Kind() for _ in header]
        for i, row in enumerate(reader):
            if i >= SAMPLE_ROWS:
                break
            for kind, value in zip(kinds, row):
                kind.see(value)
    return [_spec(name, kind.type(), kind.na) for name, kind in zip(header, kinds)]


class _Kind:
    """The narrowest pandas dtype that holds every value seen."""

    def __init__(self):
        self.na = False
        self.can = {"long", "double", "boolean"}

    def see(self, value: str) -> None:
        if value in NA:
            self.na = True
            return
        if "boolean" in self.can and value not in BOOLS:
            self.can.discard("boolean")
        if "long" in self.can and not _is_int(value):
            self.can.discard("long")
        if "double" in self.can and not _is_float(value):
            self.can.discard("double")

    def type(self) -> str:
        if self.can == {"long", "double", "boolean"}:  # nothing but missing values
            return "double"
        if "long" in self.can:
            return "double" if self.na else "long"
        if "double" in self.can:
            return "double"
        if "boolean" in self.can and not self.na:
            return "boolean"
        return "string"


def _is_int(value: str) -> bool:
    text = value.strip()
    return bool(text) and (text.lstrip("+-").isdigit())


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# -- combining the data's columns with what the model knows ----------------------------------
def from_columns(columns: list[dict], info, target: str | None, source: str, shown: str) -> dict:
    """The signature for ``info`` (an ArtifactInfo) given a data file's columns."""
    names = [c["name"] for c in columns]
    by_name = {c["name"]: c for c in columns}
    if target is not None and target not in by_name:
        raise UsageError(f"{shown} has no column {target!r} (the --target)", hint=f"columns: {_shorten(names)}")
    if info.feature_names:
        missing = [f for f in info.feature_names if f not in by_name]
        if missing:
            raise UsageError(f"{shown} lacks the model's input columns: {_shorten(missing)}")
        inputs = [dict(by_name[f]) for f in info.feature_names]
    else:
        inputs = [dict(c) for c in columns if c["name"] != target]
        if info.n_features is not None and len(inputs) != info.n_features:
            hint = "name the label column with --target" if target is None and len(inputs) == info.n_features + 1 else None
            raise UsageError(f"{shown} has {len(inputs)} input columns but the model takes {info.n_features}", hint=hint)
    out_type = output_type(info.classes, info.task) or (by_name[target]["type"] if target else None)
    return {"inputs": inputs, "output": {"type": out_type} if out_type else None, "source": source}


def from_model(info) -> dict | None:
    """Names only (types unknown), when the estimator was fitted on a DataFrame."""
    if not info.feature_names:
        return None
    out_type = output_type(info.classes, info.task)
    return {"inputs": [{"name": n, "type": "any"} for n in info.feature_names],
            "output": {"type": out_type} if out_type else None, "source": "model"}


def _shorten(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def describe(signature: dict | None) -> str:
    if not signature:
        return "unknown"
    cols = ", ".join(f"{c['name']}:{c['type']}{'?' if c.get('nullable') else ''}" for c in signature["inputs"])
    out = (signature.get("output") or {}).get("type") or "unknown"
    return f"({cols}) -> {out}"

