"""One checker per input column, built once per model: does each value fit the signature?

The rules follow MLflow's schema enforcement (docs/serving.md has the table): a JSON
number for a double, an integer (or a float without a fraction) within the type's range
for a long, true/false (or 0/1) for a boolean, a string for a string or a datetime;
``true`` is never a number; null only where the column is nullable (the registration data
had missing values there, or the model is known to accept NaN).

A check is C-speed on the common case: ``set(map(type, values))`` over the column, compared
with the types the column accepts as they are, plus a min/max for integer ranges and a
numpy pass for floats given to an integer column. Python looks at single values only to
name the first bad one.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

NONE = type(None)

# signature type name (prefix) -> (low, high) of the integers it holds; default int64
INT_BOUNDS = {"int8": 7, "int16": 15, "int32": 31, "integer": 31, "uint8": 8, "uint16": 16, "uint32": 32,
              "uint64": 64}
INT64 = (-(2 ** 63), 2 ** 63 - 1)


def int_bounds(type_name: str | None) -> tuple[int, int]:
    t = (type_name or "").lower()
    bits = INT_BOUNDS.get(t)
    if bits is None:
        return INT64
    if t.startswith("uint"):
        return (0, 2 ** bits - 1)
    return (-(2 ** bits), 2 ** bits - 1)


class BadValue(Exception):
    """A value a column does not take: the caller turns it into a 400 naming the column."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ColumnCheck:
    """Accepts or refuses one column's values (a tuple, one per row)."""

    EXACT = {"int": {int}, "float": {int, float}, "bool": {bool}, "str": {str}, "datetime": {str}}
    WORDS = {"int": "an integer", "float": "a number", "bool": "true/false", "str": "a string",
             "datetime": "a date/time string"}

    def __init__(self, kind: str, nullable: bool, type_name: str | None = None):
        self.kind, self.nullable = kind, nullable
        exact = self.EXACT.get(kind)
        self.exact = None if exact is None else frozenset(exact | ({NONE} if nullable else set()))
        self.bounds = int_bounds(type_name) if kind == "int" else None

    def __call__(self, values: tuple) -> None:
        if self.exact is None:  # type unknown ("any"): only nulls are checked
            if not self.nullable and None in values:
                raise BadValue(self._null_message())
            return
        seen = set(map(type, values))
        if seen <= self.exact and self._in_range(values, seen):
            return
        if self.kind == "int" and seen <= {int, float, NONE} and self._integral_floats(values, seen):
            return
        if self.kind == "bool" and seen <= self.exact | {int} and set(values) - {None} <= {0, 1}:
            return  # 0 and 1 are booleans too (True == 1 in a set, so no per-value loop)
        for value in values:
            refusal = self.refuse(value)
            if refusal:
                raise BadValue(refusal)

    def _in_range(self, values: tuple, seen: set) -> bool:
        if self.bounds is None or int not in seen:
            return True
        ints = values if seen == {int} else [v for v in values if type(v) is int]
        low, high = self.bounds
        return low <= min(ints) and max(ints) <= high

    def _integral_floats(self, values: tuple, seen: set) -> bool:
        """Floats with no fraction, inside the range, are integers (a CSV column with a
        gap is read as floats); checked with numpy on the whole column."""
        if not self._in_range(values, seen):
            return False
        if NONE in seen and not self.nullable:
            return False
        floats = np.fromiter((v for v in values if type(v) is float), dtype=np.float64)
        low, high = self.bounds
        ok = np.isfinite(floats) & (floats == np.floor(floats)) & (floats >= low) & (floats < float(high) + 1)
        return bool(ok.all())

    def refuse(self, value: Any) -> str | None:
        """Why ``value`` does not fit, or None (the slow path, for one value)."""
        if value is None:
            return None if self.nullable else self._null_message()
        if self.kind == "any":
            return None
        if self._fits(value):
            return None
        return f"expects {self.WORDS[self.kind]}, got {show(value)}"

    def _fits(self, value: Any) -> bool:
        is_bool = isinstance(value, (bool, np.bool_))
        if self.kind == "bool":
            return is_bool or (isinstance(value, Integral) and value in (0, 1))
        if self.kind in ("str", "datetime"):
            return isinstance(value, str)
        if is_bool or not isinstance(value, Real):
            return False
        if self.kind == "float":
            return True
        low, high = self.bounds
        if isinstance(value, Integral):
            return low <= int(value) <= high
        number = float(value)
        return math.isfinite(number) and number.is_integer() and low <= number < float(high) + 1

    def _null_message(self) -> str:
        return ("is null, and the signature does not allow missing values there "
                "(the registration data had none and the model is not known to accept NaN)")


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return repr(value)


def model_accepts_nan(model: Any) -> bool:
    """What the estimator itself says (scikit-learn's ``allow_nan`` tag: tree ensembles and
    HistGradientBoosting yes, linear models no). Unknown means no: a null is then refused
    with a 400 rather than handed to a model that raises."""
    if hasattr(model, "__sklearn_tags__"):
        try:
            from sklearn.utils import get_tags

            return bool(get_tags(model).input_tags.allow_nan)
        except Exception:  # an estimator whose tags cannot be read: not known to accept NaN
            return False
    tags = getattr(model, "_get_tags", None)  # scikit-learn before 1.6
    try:
        return bool(tags().get("allow_nan", False)) if callable(tags) else False
    except Exception:
        return False


NUMBERS = frozenset({int, float})
SAFE_INT = 2.0 ** 53  # below this a float64 holds every integer exactly


class NumericScreen:
    """A vectorized screen for rows holding nothing but JSON numbers (no bool, no null):
    float columns take them all; integer and boolean columns are checked on the float64
    array in a few numpy operations. It only says yes when that is certain; a no (or an
    integer too large to judge in float64) sends the rows to the exact checks, which name
    the bad value."""

    def __init__(self, checks: list[ColumnCheck]):
        self.numeric = all(c.kind in ("int", "float", "bool") for c in checks)
        ints = [(j, c.bounds) for j, c in enumerate(checks) if c.kind == "int"]
        self.int_idx = np.array([j for j, _ in ints], dtype=np.intp)
        self.int_low = np.array([max(low, -SAFE_INT) for _, (low, _high) in ints], dtype=np.float64)
        self.int_high = np.array([min(high, SAFE_INT) for _, (_low, high) in ints], dtype=np.float64)
        self.bool_idx = np.array([j for j, c in enumerate(checks) if c.kind == "bool"], dtype=np.intp)

    def passes(self, arr: np.ndarray, seen: set) -> bool:
        """``seen``: the Python types of the values (a float 1.0 is no boolean, but the
        array cannot tell it from the integer 1)."""
        if not self.numeric or (self.bool_idx.size and float in seen):
            return False
        if self.int_idx.size:
            sub = arr[:, self.int_idx]
            if not ((sub == np.floor(sub)) & (sub >= self.int_low) & (sub <= self.int_high)).all():
                return False
        if self.bool_idx.size:
            sub = arr[:, self.bool_idx]
            if not ((sub == 0) | (sub == 1)).all():
                return False
        return True
