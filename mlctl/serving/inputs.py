"""From a parsed JSON body to the model's input, checked against the signature.

The fast path never builds a DataFrame: rows become one float64 numpy array in the
model's column order, and types are checked on the whole array at once. A DataFrame is
built only when the model needs one (string columns, or a model that selects columns by
name). Every problem is an InputError naming the column, which the app turns into a 400.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("int", "float", "bool", "str", "datetime", "any")


class InputError(Exception):
    """Bad input: always a 400 (or the given status), never a 500."""

    def __init__(self, message: str, column: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.column = column
        self.status = status


def kind_of(type_name: str | None) -> str:
    """A signature type (a pandas/numpy dtype name or a JSON-ish word) -> one of KINDS."""
    t = (type_name or "").lower()
    if t.startswith(("int", "uint", "long")):
        return "int"
    if t.startswith(("float", "double", "number")):
        return "float"
    if t.startswith(("bool",)):
        return "bool"
    if t.startswith(("str", "object", "category", "unicode", "bytes", "binary")):
        return "str"
    if t.startswith(("datetime", "timestamp", "date")):
        return "datetime"
    return "any"


@dataclass
class Columns:
    """The input columns in the order the model wants them, with their kinds."""

    names: list[str]
    kinds: list[str]
    typed: bool = True  # False when the model came without a signature

    def __post_init__(self):
        self.index = {n: i for i, n in enumerate(self.names)}
        self.name_set = frozenset(self.names)
        self.getter = operator.itemgetter(*self.names) if self.names else (lambda r: ())
        self.numeric = all(k in ("int", "float", "bool") for k in self.kinds)
        self.int_cols = [i for i, k in enumerate(self.kinds) if k in ("int", "bool")]
        self.bool_cols = [i for i, k in enumerate(self.kinds) if k == "bool"]

    @classmethod
    def from_signature(cls, signature: dict | None, model_order: list[str] | None = None) -> "Columns":
        inputs = (signature or {}).get("inputs") or []
        if not inputs:
            if model_order:
                return cls(list(model_order), ["float"] * len(model_order), typed=False)
            raise ValueError("the model version has no signature and the model names no input columns")
        kinds = {i["name"]: kind_of(i.get("type")) for i in inputs}
        names = [i["name"] for i in inputs]
        if model_order and set(model_order) == set(names):
            names = list(model_order)  # feed the array in the order the model was fitted on
        return cls(names, [kinds[n] for n in names])

    def to_json(self) -> list[dict]:
        return [{"name": n, "kind": k} for n, k in zip(self.names, self.kinds)]


# -- request formats -> rows in column order -------------------------------------------------
def rows_from_records(records: Any, cols: Columns, strict: bool) -> list:
    """``[{"col": v, ...}, ...]`` (or rows as lists in column order) -> rows;
    ``strict`` refuses unknown columns (/predict). The common case runs at C speed
    (itemgetter over the records); the slow loop below only explains what is wrong."""
    if not isinstance(records, list):
        raise InputError("expected a list of rows")
    if not records:
        raise InputError("no rows given")
    kinds = set(map(type, records))
    if kinds == {dict}:
        try:
            rows = list(map(cols.getter, records))
        except KeyError:
            rows = None
        if rows is not None and (not strict or set(map(len, records)) == {len(cols.names)}):
            return rows if len(cols.names) > 1 else [[v] for v in rows]
    elif kinds == {list}:
        return records  # row lengths are checked when the array is built
    return _records_slow(records, cols, strict)


def _records_slow(records: list, cols: Columns, strict: bool) -> list:
    names, name_set = cols.names, cols.name_set
    out = []
    for record in records:
        if not isinstance(record, dict):
            if isinstance(record, list):
                out.append(_positional_row(record, cols))
                continue
            raise InputError("each row must be an object of column -> value")
        if record.keys() != name_set:
            _explain_keys(record, cols, strict)
        out.append([record[n] for n in names])
    return out


def _explain_keys(record: dict, cols: Columns, strict: bool) -> None:
    missing = [n for n in cols.names if n not in record]
    if missing:
        raise InputError(f"missing column '{missing[0]}'", missing[0])
    extra = [k for k in record if k not in cols.name_set]
    if strict and extra:
        raise InputError(f"unknown column '{extra[0]}' (the model takes {', '.join(cols.names)})", extra[0])


def _positional_row(row: list, cols: Columns) -> list:
    if len(row) != len(cols.names):
        raise InputError(f"a row has {len(row)} values; the model takes {len(cols.names)} "
                         f"({', '.join(cols.names)})")
    return row


def rows_from_split(split: Any, cols: Columns) -> list[list]:
    """MLflow's ``{"columns": [...], "data": [[...]]}``; extra columns are ignored."""
    if not isinstance(split, dict) or not isinstance(split.get("data"), list):
        raise InputError("dataframe_split needs 'columns' and 'data'")
    data, given = split["data"], split.get("columns")
    if not data:
        raise InputError("no rows given")
    if given is None:
        return [_positional_row(r if isinstance(r, list) else [r], cols) for r in data]
    where = {c: i for i, c in enumerate(given)}
    for n in cols.names:
        if n not in where:
            raise InputError(f"missing column '{n}'", n)
    picks = [where[n] for n in cols.names]
    width = len(given)
    if picks == list(range(width)):
        if any(not isinstance(r, list) or len(r) != width for r in data):
            raise InputError(f"every row of 'data' must have {width} values")
        return data
    try:
        pick = operator.itemgetter(*picks)
        return list(map(pick, data)) if len(picks) > 1 else [[pick(r)] for r in data]
    except (IndexError, TypeError, KeyError):
        raise InputError(f"every row of 'data' must have {width} values") from None


def rows_from_columns(columns: Any, cols: Columns) -> list[list]:
    """MLflow's columnar ``"inputs": {"col": [v, ...], ...}``."""
    for n in cols.names:
        if n not in columns:
            raise InputError(f"missing column '{n}'", n)
    lists = [columns[n] if isinstance(columns[n], list) else [columns[n]] for n in cols.names]
    lengths = {len(v) for v in lists}
    if len(lengths) != 1:
        raise InputError("every column of 'inputs' must have the same number of values")
    if not lengths.pop():
        raise InputError("no rows given")
    return [list(r) for r in zip(*lists)]


# -- rows -> model input ----------------------------------------------------------------------
def to_array(rows: list[list], cols: Columns) -> np.ndarray:
    """Rows of JSON scalars -> a float64 array, types checked column by column at C speed."""
    try:
        arr = np.array(rows)
    except ValueError:  # ragged, or a list where a scalar belongs: find which
        arr = _slow_numeric(rows, cols)
    if arr.ndim != 2 or arr.shape[1] != len(cols.names) or arr.dtype.kind not in "fiub":
        arr = _slow_numeric(rows, cols)
    if arr.dtype.kind == "f" and cols.int_cols:
        _check_integral(arr, cols)
    if cols.bool_cols and arr.dtype.kind != "b":
        _check_boolean(arr, cols)
    return arr if arr.dtype == np.float64 else arr.astype(np.float64)


def _slow_numeric(rows: list[list], cols: Columns) -> np.ndarray:
    """Something in the rows is not a number: name the column (nulls are NaN in floats)."""
    width = len(cols.names)
    for row in rows:
        if len(row) != width:
            raise InputError(f"a row has {len(row)} values; the model takes {width} ({', '.join(cols.names)})")
    for j, (name, kind) in enumerate(zip(cols.names, cols.kinds)):
        for value in (r[j] for r in rows):
            if value is None and kind in ("float", "any"):
                continue
            if not isinstance(value, (int, float)) or (kind == "bool" and value not in (0, 1)):
                raise InputError(f"column '{name}' expects {_word(kind)}, got {_show(value)}", name)
    return np.array(rows, dtype=np.float64)


def _check_boolean(arr: np.ndarray, cols: Columns) -> None:
    sub = arr[:, cols.bool_cols]
    bad = (sub != 0) & (sub != 1)
    if bad.any():
        row, j = map(int, np.argwhere(bad)[0])
        name = cols.names[cols.bool_cols[j]]
        raise InputError(f"column '{name}' expects true/false, got {_show(sub[row, j].item())}", name)


def _check_integral(arr: np.ndarray, cols: Columns) -> None:
    sub = arr[:, cols.int_cols]
    bad = ~np.isfinite(sub) | (sub != np.floor(sub))
    if bad.any():
        row, j = map(int, np.argwhere(bad)[0])
        name = cols.names[cols.int_cols[j]]
        kind = cols.kinds[cols.int_cols[j]]
        raise InputError(f"column '{name}' expects {_word(kind)}, got {_show(arr[row, cols.int_cols[j]].item())}", name)


def to_frame(rows: list[list], cols: Columns):
    """Rows -> a DataFrame with each column checked and cast to its signature kind."""
    import pandas as pd

    data = {}
    for j, (name, kind) in enumerate(zip(cols.names, cols.kinds)):
        values = [r[j] for r in rows]
        data[name] = _column(values, name, kind)
    try:
        return pd.DataFrame(data, columns=cols.names)
    except ValueError as exc:
        raise InputError(f"rows do not form a table: {exc}") from None


def _column(values: list, name: str, kind: str):
    if kind == "str":
        for v in values:
            if v is not None and not isinstance(v, str):
                raise InputError(f"column '{name}' expects a string, got {_show(v)}", name)
        return values
    if kind == "datetime":
        import pandas as pd

        try:
            return pd.to_datetime(values)
        except (ValueError, TypeError):
            raise InputError(f"column '{name}' expects a date/time", name) from None
    if kind == "any":
        return values
    arr = to_array([[v] for v in values], Columns([name], [kind]))[:, 0]
    if kind == "int" and not np.isnan(arr).any():
        return arr.astype(np.int64)
    if kind == "bool":
        return arr.astype(bool)
    return arr


def _word(kind: str) -> str:
    return {"int": "an integer", "float": "a number", "bool": "true/false", "str": "a string"}.get(kind, kind)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return repr(value)
