"""`--suggest`: a starting suite drawn from a reference table, for the user to edit.

What describes the table's shape is an `error` (the exact column set, each column's type,
no missing values where there are none, uniqueness, at least half the rows); what is drawn
from the reference's values is a `warn` (ranges with a margin, value sets, the share of
missing values), since a new batch may rightly go past the range one sample showed. Every
suggestion holds on the reference itself.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from mlctl.store.times import ns_to_iso
from mlctl.validation.profile import ColumnProfile, TableProfile

MARGIN = 0.1  # ranges widened by 10% of their span on each side
_TYPED = ("integer", "float", "string", "boolean", "timestamp", "date")
_US_STEPS = (86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000)  # a day, an hour, a minute, a second


def suggest(table: TableProfile) -> list[dict]:
    """The suggested expectations, as written in a suite (``expect`` first)."""
    items = [{"expect": "column_set", "columns": [c.name for c in table.columns], "exact": True}]
    if table.rows >= 2:
        items.append({"expect": "row_count", "min": table.rows // 2})
    for column in table.columns:
        items.extend(_column(column, table.rows))
    return items


def _column(c: ColumnProfile, rows: int) -> list[dict]:
    items = []
    if c.family in _TYPED:
        items.append({"expect": "type", "column": c.name, "type": c.family})
    if c.missing == 0:
        items.append({"expect": "not_null", "column": c.name})
    else:
        items.append(_warn({"expect": "null_share", "column": c.name, "max": _share_bound(c.missing / rows)}))
    present = rows - c.missing
    if c.family in ("integer", "string") and present >= 2 and c.distinct == present:
        items.append({"expect": "unique", "column": c.name})
    bounds = _bounds(c)
    if bounds:
        kind = "timestamp_between" if c.family in ("timestamp", "date") else "between"
        items.append(_warn({"expect": kind, "column": c.name, **bounds}))
    if c.values and c.distinct < present:  # values repeat: a category, not an identifier
        items.append(_warn({"expect": "in_set", "column": c.name, "values": c.values}))
    return items


def _warn(item: dict) -> dict:
    return {**item, "severity": "warn"}


def _share_bound(share: float) -> float:
    """The observed share of missing values plus a margin, in whole percent."""
    percent = round((share + max(0.05, share * MARGIN)) * 100, 6)  # 55.00000000000001 is 55
    return min(1.0, math.ceil(percent) / 100)


def _bounds(c: ColumnProfile) -> dict | None:
    if c.low is None or c.high is None:
        return None
    if c.family in ("timestamp", "date"):
        return _time_bounds(int(c.low), int(c.high))
    cast = int if c.family == "integer" else float  # DECIMAL comes as Decimal, which YAML cannot write
    low, high = cast(c.low), cast(c.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    margin = (high - low) * MARGIN or abs(high) * MARGIN or 1.0
    step = 10.0 ** math.floor(math.log10(margin))
    if c.family == "integer":
        step = max(step, 1.0)
    lower = _round(low - margin, step, ROUND_FLOOR)
    upper = _round(high + margin, step, ROUND_CEILING)
    if low >= 0 > lower:  # a count or an amount does not suggest negative bounds
        lower = 0
    return {"min": min(lower, low), "max": max(upper, high)}


def _round(value: float, step: float, rounding) -> int | float:
    """``value`` rounded outward to a multiple of ``step`` (a power of ten), as a short
    decimal: floats keep their shortest text, so the bound reads as written."""
    with localcontext() as ctx:
        ctx.prec = 800  # exact for any double, whatever its scale against the step
        exponent = Decimal(1).scaleb(int(round(math.log10(step))))
        rounded = (Decimal(repr(value)) / exponent).to_integral_value(rounding=rounding) * exponent
    return int(rounded) if step >= 1 else float(rounded)


def _time_bounds(low_us: int, high_us: int) -> dict | None:
    """Microseconds widened by 10% of the span (at least a second), rounded outward to
    the day, hour, minute or second, as ISO 8601 UTC."""
    margin = max((high_us - low_us) // 10, 1_000_000)
    step = next(s for s in _US_STEPS if margin >= s)
    lower = (low_us - margin) // step * step
    upper = -((-(high_us + margin)) // step) * step
    try:
        return {"min": ns_to_iso(lower * 1000), "max": ns_to_iso(upper * 1000)}
    except (OverflowError, ValueError):  # past what a datetime holds (year 1 to 9999): no bounds
        return None
