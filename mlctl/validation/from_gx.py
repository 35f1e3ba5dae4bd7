"""`--from-gx suite.json`: a Great Expectations suite (GX 1.x `type`, or 0.x
`expectation_type`) as this suite format's expectations, so a team can move over.

Each GX expectation maps to one (or, for quantile ranges, several) of ours with the same
meaning; `mostly` and a `meta.notes`/`description` carry over as `mostly` and `name`, GX
1.x's `severity` (`critical` / `warning` / `info`) as `error` / `warn`. What has no
counterpart is listed, with why, and left out: never guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from mlctl.errors import UsageError

PREFIX = "expect_"
GX_TYPES = {"int": "integer", "int8": "integer", "int16": "integer", "int32": "integer", "int64": "integer",
            "integer": "integer", "bigint": "integer", "float": "float", "float32": "float", "float64": "float",
            "double": "float", "decimal": "float", "str": "string", "string": "string", "varchar": "string",
            "object": "string", "bool": "boolean", "boolean": "boolean", "datetime64": "timestamp",
            "datetime64[ns]": "timestamp", "timestamp": "timestamp", "date": "date"}


def _bounds(kw: dict) -> dict:
    out = {}
    if kw.get("min_value") is not None:
        out["min"] = kw["min_value"]
    if kw.get("max_value") is not None:
        out["max"] = kw["max_value"]
    if kw.get("strict_min"):
        out["strict_min"] = True
    if kw.get("strict_max"):
        out["strict_max"] = True
    return out


def _column(kind: str, extra: Callable[[dict], dict] = lambda kw: {}) -> Callable[[dict], list[dict]]:
    return lambda kw: [{"expect": kind, "column": kw["column"], **extra(kw)}]


def _statistic(kind: str) -> Callable[[dict], list[dict]]:
    return lambda kw: [{"expect": kind, "column": kw["column"], **_needs_bounds(kw)}]


def _needs_bounds(kw: dict) -> dict:
    bounds = _bounds(kw)
    if not {"min", "max"} & set(bounds):
        raise ValueError("neither min_value nor max_value is set")
    return bounds


def _quantiles(kw: dict) -> list[dict]:
    ranges = kw.get("quantile_ranges") or {}
    pairs = zip(ranges.get("quantiles") or [], ranges.get("value_ranges") or [])
    out = [{"expect": "quantile", "column": kw["column"], "q": q,
            **{k: v for k, v in (("min", low), ("max", high)) if v is not None}} for q, (low, high) in pairs]
    if not out:
        raise ValueError("no quantile_ranges")
    return out


def _type(kw: dict) -> list[dict]:
    given = str(kw.get("type_", "")).lower()
    if given not in GX_TYPES:
        raise ValueError(f"type {kw.get('type_')!r} has no counterpart (known: {', '.join(sorted(GX_TYPES))})")
    return [{"expect": "type", "column": kw["column"], "type": GX_TYPES[given]}]


def _pair(kw: dict) -> list[dict]:
    op = ">=" if kw.get("or_equal") else ">"
    return [{"expect": "condition", "condition": f'"{kw["column_A"]}" {op} "{kw["column_B"]}"'}]


def _row_count(kw: dict) -> list[dict]:
    return [{"expect": "row_count", **_needs_bounds(kw)}]


CONVERTERS: dict[str, Callable[[dict], list[dict]]] = {
    "column_to_exist": _column("exists"),
    "column_values_to_not_be_null": _column("not_null"),
    "column_values_to_be_unique": _column("unique"),
    "column_values_to_be_between": _column("between", _needs_bounds),
    "column_values_to_be_in_set": _column("in_set", lambda kw: {"values": list(kw["value_set"])}),
    "column_values_to_not_be_in_set": _column("not_in_set", lambda kw: {"values": list(kw["value_set"])}),
    "column_values_to_match_regex": _column("regex", lambda kw: {"pattern": kw["regex"]}),
    "column_value_lengths_to_be_between": _column("length_between", _needs_bounds),
    "column_values_to_be_increasing": _column("increasing", lambda kw: {"strict": True} if kw.get("strictly") else {}),
    "column_values_to_be_decreasing": _column("decreasing", lambda kw: {"strict": True} if kw.get("strictly") else {}),
    "column_values_to_be_of_type": _type,
    "column_mean_to_be_between": _statistic("mean"),
    "column_median_to_be_between": _statistic("median"),
    "column_stdev_to_be_between": _statistic("stdev"),
    "column_unique_value_count_to_be_between": _statistic("distinct_count"),
    "column_quantile_values_to_be_between": _quantiles,
    "table_row_count_to_be_between": _row_count,
    "table_row_count_to_equal": lambda kw: [{"expect": "row_count", "min": kw["value"], "max": kw["value"]}],
    "table_columns_to_match_set": lambda kw: [{"expect": "column_set", "columns": list(kw["column_set"]),
                                               **({"exact": True} if kw.get("exact_match", True) else {})}],
    "table_columns_to_match_ordered_list": lambda kw: [{"expect": "column_set", "columns": list(kw["column_list"]),
                                                        "exact": True}],
    "compound_columns_to_be_unique": lambda kw: [{"expect": "unique_together", "columns": list(kw["column_list"])}],
    "column_pair_values_a_to_be_greater_than_b": _pair,
}
ROW_LEVEL = {"not_null", "unique", "between", "in_set", "not_in_set", "regex", "length_between", "increasing",
             "decreasing", "unique_together", "condition"}


def read(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read GX suite {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a GX suite (JSON): {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise UsageError(f"{path} is not a GX suite: it has no `expectations` list")
    return doc


def convert(doc: dict) -> tuple[list[dict], list[dict]]:
    """(our expectations, the GX ones left out: {"type", "why"})."""
    converted, skipped = [], []
    for item in doc["expectations"]:
        gx_type = str(item.get("type") or item.get("expectation_type") or "") if isinstance(item, dict) else ""
        kwargs = item.get("kwargs") or {} if isinstance(item, dict) else {}
        converter = CONVERTERS.get(gx_type.removeprefix(PREFIX))
        if converter is None:
            skipped.append({"type": gx_type or repr(item), "why": "no counterpart in mlctl"})
            continue
        try:
            made = converter(kwargs)
        except (KeyError, TypeError, ValueError) as exc:
            skipped.append({"type": gx_type, "why": f"cannot convert its kwargs ({_reason(exc)})"})
            continue
        converted.extend(_carry(e, item, kwargs) for e in made)
    return converted, skipped


def _carry(expectation: dict, item: dict, kwargs: dict) -> dict:
    if kwargs.get("mostly") is not None and expectation["expect"] in ROW_LEVEL:
        expectation["mostly"] = kwargs["mostly"]
    note = (item.get("meta") or {}).get("notes") or item.get("description")
    if isinstance(note, str) and note.strip():
        expectation["name"] = note.strip().splitlines()[0][:120]
    if str(item.get("severity", "")).lower() in ("warning", "info"):
        expectation["severity"] = "warn"
    return expectation


def _reason(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
