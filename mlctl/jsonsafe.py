"""Strict JSON (RFC 8259) for every output: the CLI's --json, the dashboard's API, alerts.

Non-finite floats become the strings "NaN", "Infinity", "-Infinity"; numpy and pandas
scalars become Python values; datetimes ISO 8601.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """Make ``value`` strict-JSON-safe: NaN/inf as strings, numpy scalars as Python."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy / pandas scalars
        return json_safe(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "to_json") and callable(value.to_json):
        return json_safe(value.to_json())
    return str(value)
