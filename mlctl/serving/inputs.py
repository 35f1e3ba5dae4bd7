"""From a parsed JSON body to the model's input, checked against the signature.

The fast path never builds a DataFrame: rows become one float64 numpy array in the
model's column order, after each column's values were checked against the signature by a
checker built once per model (checks.py). A DataFrame is built only when the model needs
one (string columns, or a model that selects columns by name). Every problem is an
InputError naming the column, which the app turns into a 400.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from mlctl.serving.checks import NUMBERS, BadValue, ColumnCheck, NumericScreen

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
    nullable: list[bool] | None = None  # per column: may a value be null (default: no)
    type_names: list[str] | None = None  # the signature's own type names (integer ranges)

    def __post_init__(self):
        self.nullable = list(self.nullable or [False] * len(self.names))
        self.checks = [ColumnCheck(k, n, t) for k, n, t in
                       zip(self.kinds, self.nullable, self.type_names or [None] * len(self.names))]
        self.fast = NumericScreen(self.checks)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.name_set = frozenset(self.names)
        self.getter = operator.itemgetter(*self.names) if self.names else (lambda r: ())
        self.numeric = all(k in ("int", "float", "bool") for k in self.kinds)

    @classmethod
    def from_signature(cls, signature: dict | None, model_order: list[str] | None = None,
                       accepts_nan: bool = False) -> "Columns":
        """``accepts_nan``: the model is known to take missing values (checks.model_accepts_nan),
        so every column may be null; otherwise only the columns the signature marks nullable."""
        inputs = (signature or {}).get("inputs") or []
        if not inputs:
            if model_order:
                n = len(model_order)
                return cls(list(model_order), ["float"] * n, typed=False, nullable=[accepts_nan] * n)
            raise ValueError("the model version has no signature and the model names no input columns")
        by_name = {i["name"]: i for i in inputs}
        names = [i["name"] for i in inputs]
        if model_order and set(model_order) == set(names):
            names = list(model_order)  # feed the array in the order the model was fitted on
        specs = [by_name[n] for n in names]
        return cls(names, [kind_of(i.get("type")) for i in specs],
                   nullable=[accepts_nan or bool(i.get("nullable")) for i in specs],
                   type_names=[i.get("type") for i in specs])

    def to_json(self) -> list[dict]:
        return [{"name": n, "kind": k, "nullable": z} for n, k, z in zip(self.names, self.kinds, self.nullable)]


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
def check_rows(rows: list, cols: Columns) -> None:
    """Every row has one value per column and every value fits its column (checks.py)."""
    _check_widths(rows, cols)
    for name, check, values in zip(cols.names, cols.checks, zip(*rows)):
        try:
            check(values)
        except BadValue as exc:
            raise InputError(f"column '{name}' {exc.message}", name) from None


def _check_widths(rows: list, cols: Columns) -> None:
    width = len(cols.names)
    try:
        widths = set(map(len, rows))
    except TypeError:
        raise InputError(f"each row must hold {width} values ({', '.join(cols.names)})") from None
    if widths != {width}:
        bad = next(n for n in map(len, rows) if n != width)
        raise InputError(f"a row has {bad} values; the model takes {width} ({', '.join(cols.names)})")


def to_array(rows: list[list], cols: Columns, plain: bool = False) -> np.ndarray:
    """Rows of JSON scalars -> a float64 array (null -> NaN where a column allows it).

    The common request (nothing but numbers) is screened on the array itself; anything
    else, or anything the screen is unsure of, goes through the exact per-column checks.
    ``plain``: the body held no ``true``, ``false`` or ``null`` (formats.plain_numbers), so
    no value is a boolean or None and the array's own dtype says what the values were:
    the per-value type screen (~9 ms of a 10,000 x 30 request) is skipped."""
    _check_widths(rows, cols)
    if plain and cols.numeric:
        arr = _plain_array(rows, cols)
        if arr is not None:
            return arr
    seen = set(map(type, chain.from_iterable(rows)))
    if seen <= NUMBERS:
        arr = np.array(rows, dtype=np.float64)
        if cols.fast.passes(arr, seen):
            return arr
    check_rows(rows, cols)
    return np.array(rows, dtype=np.float64)


def _plain_array(rows: list, cols: Columns) -> np.ndarray | None:
    """Rows without booleans or None as a float64 array, or None for the exact path:
    numpy makes int64 of integers alone and float64 of numbers; strings, huge integers,
    nested values and ragged rows give another dtype (or an error) and go the exact way."""
    try:
        arr = np.array(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 2 or arr.dtype.kind not in "if":
        return None
    seen = {int} if arr.dtype.kind == "i" else NUMBERS  # a float array may hold both
    arr = arr.astype(np.float64, copy=False)
    return arr if cols.fast.passes(arr, seen) else None


def to_frame(rows: list[list], cols: Columns):
    """Rows -> a DataFrame with each column checked and cast to its signature kind."""
    import pandas as pd

    check_rows(rows, cols)
    data = {name: _column([r[j] for r in rows], name, kind)
            for j, (name, kind) in enumerate(zip(cols.names, cols.kinds))}
    try:
        return pd.DataFrame(data, columns=cols.names)
    except ValueError as exc:
        raise InputError(f"rows do not form a table: {exc}") from None


def _column(values: list, name: str, kind: str):
    """Checked values -> the column the model gets (ints stay int64 unless a null is there)."""
    if kind in ("str", "any"):
        return values
    if kind == "datetime":
        import pandas as pd

        try:
            return pd.to_datetime(values)
        except (ValueError, TypeError):
            raise InputError(f"column '{name}' expects a date/time", name) from None
    if None in values:  # a nullable column with a gap: floats, the gap NaN
        return np.array(values, dtype=np.float64)
    if kind == "int":
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:  # a uint64 column past int64 (its range was checked)
            return np.array(values, dtype=np.uint64)
    return np.array(values, dtype=bool if kind == "bool" else np.float64)
