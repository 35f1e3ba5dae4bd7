"""The expectation suite (`expectations.yaml` or `--suite F`): parsed and checked up front.

    datasets:
      data/train.csv:                 # a tracked path, a file, a folder, or a glob of files
        expectations:
          - {expect: not_null, column: age, mostly: 0.99}
          - {expect: between, column: age, min: 0, max: 120, severity: warn, name: sane ages}
          - {expect: condition, condition: price >= discount}

A suite that cannot be right whatever the data holds (an unknown expectation or key, a
wrong value for a key) is a UsageError (exit 2) naming it, with a "did you mean". What only
the data can tell (a column it lacks, a column of the wrong type) is left to evaluation,
where it is a failed expectation and the others are still evaluated.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.validation import condition as conditions

DEFAULT_SUITE = "expectations.yaml"
SEVERITIES = ("error", "warn")
TYPES = ("integer", "float", "number", "string", "boolean", "timestamp", "date")
COMMON_KEYS = {"expect", "name", "severity"}
BOUNDS = {"min", "max", "strict_min", "strict_max"}


@dataclass(frozen=True)
class Kind:
    """What an expectation type is: its level, its keys, whether `mostly` applies."""

    level: str  # "column" | "table" | "statistic"
    required: frozenset
    optional: frozenset = frozenset()
    row_level: bool = False  # counts failing rows, so `mostly` and samples apply


def _kind(level, required=(), optional=(), row_level=False) -> Kind:
    return Kind(level, frozenset(required), frozenset(optional), row_level)


KINDS: dict[str, Kind] = {
    "exists": _kind("column", {"column"}),
    "type": _kind("column", {"column", "type"}),
    "not_null": _kind("column", {"column"}, row_level=True),
    "unique": _kind("column", {"column"}, row_level=True),
    "between": _kind("column", {"column"}, BOUNDS, row_level=True),
    "in_set": _kind("column", {"column", "values"}, row_level=True),
    "not_in_set": _kind("column", {"column", "values"}, row_level=True),
    "regex": _kind("column", {"column", "pattern"}, row_level=True),
    "length_between": _kind("column", {"column"}, {"min", "max"}, row_level=True),
    "increasing": _kind("column", {"column"}, {"strict"}, row_level=True),
    "decreasing": _kind("column", {"column"}, {"strict"}, row_level=True),
    "timestamp_between": _kind("column", {"column"}, {"min", "max"}, row_level=True),
    "not_in_future": _kind("column", {"column"}, row_level=True),
    "row_count": _kind("table", (), {"min", "max"}),
    "column_set": _kind("table", {"columns"}, {"exact"}),
    "unique_together": _kind("table", {"columns"}, row_level=True),
    "condition": _kind("table", {"condition"}, row_level=True),
    "mean": _kind("statistic", {"column"}, BOUNDS),
    "median": _kind("statistic", {"column"}, BOUNDS),
    "quantile": _kind("statistic", {"column", "q"}, BOUNDS),
    "stdev": _kind("statistic", {"column"}, BOUNDS),
    "null_share": _kind("statistic", {"column"}, BOUNDS),
    "distinct_count": _kind("statistic", {"column"}, BOUNDS),
    "freshness": _kind("statistic", {"column", "max_age"}),
}


@dataclass(frozen=True)
class Expectation:
    kind: str
    name: str
    severity: str
    mostly: float
    params: dict  # the kind's own keys (column, min, values, ...), checked

    @property
    def level(self) -> str:
        return KINDS[self.kind].level

    @property
    def row_level(self) -> bool:
        return KINDS[self.kind].row_level

    @property
    def columns(self) -> list[str]:
        """The data columns this expectation reads (missing ones fail it)."""
        if "column" in self.params:
            return [self.params["column"]]
        if self.kind == "condition":
            return conditions.columns(self.params["tree"])
        if self.kind == "unique_together":
            return list(self.params["columns"])
        return []

    def to_json(self) -> dict:
        shown = {k: v for k, v in self.params.items() if k != "tree"}
        if self.kind == "timestamp_between":  # kept as ns, shown as ISO 8601 UTC
            shown.update({k: _ns_iso(shown[k]) for k in ("min", "max") if k in shown})
        return {"expect": self.kind, "name": self.name, "level": self.level, "severity": self.severity,
                "mostly": self.mostly if self.row_level else None, **shown}


def _ns_iso(ns: int) -> str:
    from mlctl.features.timeutil import ns_to_iso

    return ns_to_iso(ns)


@dataclass
class DatasetSuite:
    target: str  # as written in the suite: a tracked path, file, folder or glob
    expectations: list[Expectation] = field(default_factory=list)


@dataclass
class Suite:
    path: str
    datasets: list[DatasetSuite]

    def dataset(self, target: str) -> DatasetSuite:
        wanted = target.rstrip("/")
        for dataset in self.datasets:
            if dataset.target.rstrip("/") == wanted:
                return dataset
        names = [d.target for d in self.datasets]
        raise UsageError(f"{self.path}: no expectations for {target!r}",
                         hint=_did_you_mean(target, names) + f"the suite covers: {', '.join(names) or 'nothing'}")


def _did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def load(path: str | Path) -> Suite:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no expectation suite at {path}",
                         hint=f"write one ({DEFAULT_SUITE}, see docs/validation.md) or pass --suite FILE")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse(document, str(path))


def parse(document, source: str = DEFAULT_SUITE) -> Suite:
    if not isinstance(document, dict):
        raise UsageError(f"{source}: expected a mapping with a 'datasets' key")
    _no_unknown(document, {"datasets", "version"}, source)
    datasets = document.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise UsageError(f"{source}: 'datasets' must map each dataset (a path or glob) to its expectations")
    return Suite(source, [_dataset(str(target), body, source) for target, body in datasets.items()])


def _dataset(target: str, body, source: str) -> DatasetSuite:
    where = f"{source}: {target}"
    if not isinstance(body, dict):
        raise UsageError(f"{where}: expected a mapping with an 'expectations' list")
    _no_unknown(body, {"expectations"}, where)
    items = body.get("expectations")
    if not isinstance(items, list) or not items:
        raise UsageError(f"{where}: 'expectations' must be a non-empty list")
    expectations = [parse_expectation(item, f"{where}: expectation {i + 1}") for i, item in enumerate(items)]
    _unique_names(expectations, where)
    return DatasetSuite(target, expectations)


def _unique_names(expectations: list[Expectation], where: str) -> None:
    seen: set[str] = set()
    for e in expectations:
        if e.name in seen:
            raise UsageError(f"{where}: two expectations are named {e.name!r}",
                             hint="give one of them a different `name:`")
        seen.add(e.name)


def _no_unknown(mapping: dict, known: set, where: str) -> None:
    for key in mapping:
        if key not in known:
            raise UsageError(f"{where}: unknown key {key!r}",
                             hint=_did_you_mean(str(key), known) + f"known keys: {', '.join(sorted(known))}")


def parse_expectation(item, where: str) -> Expectation:
    if not isinstance(item, dict) or "expect" not in item:
        raise UsageError(f"{where}: expected a mapping with an 'expect' key (e.g. expect: not_null)")
    kind_name = item["expect"]
    if kind_name not in KINDS:
        raise UsageError(f"{where}: unknown expectation {kind_name!r}",
                         hint=_did_you_mean(str(kind_name), KINDS) + "see docs/validation.md for every expectation")
    kind = KINDS[kind_name]
    where = f"{where} ({kind_name})"
    known = COMMON_KEYS | kind.required | kind.optional | ({"mostly"} if kind.row_level else set())
    _no_unknown(item, known, where)
    for key in sorted(kind.required - set(item)):
        raise UsageError(f"{where}: missing key {key!r}")
    params = {key: _check_value(key, item[key], kind_name, where) for key in kind.required | kind.optional
              if key in item}
    _check_kind(kind_name, params, where)
    return Expectation(kind_name, _name(item, kind_name, params, where), _severity(item, where),
                       _mostly(item, where), params)


def _name(item: dict, kind: str, params: dict, where: str) -> str:
    if "name" in item:
        if not isinstance(item["name"], str) or not item["name"].strip():
            raise UsageError(f"{where}: 'name' must be a non-empty text")
        return item["name"]
    subject = params.get("column") or ",".join(params.get("columns", [])) or params.get("condition", "")
    return f"{kind}({subject})" if subject else kind


def _severity(item: dict, where: str) -> str:
    severity = item.get("severity", "error")
    if severity not in SEVERITIES:
        raise UsageError(f"{where}: severity must be error or warn, not {severity!r}")
    return severity


def _mostly(item: dict, where: str) -> float:
    mostly = item.get("mostly", 1.0)
    if isinstance(mostly, bool) or not isinstance(mostly, (int, float)) or not 0 <= mostly <= 1:
        raise UsageError(f"{where}: mostly must be a number from 0 to 1, not {mostly!r}")
    return float(mostly)


def _check_value(key: str, value, kind: str, where: str):
    """The value of one expectation key, checked by that key's checker (others pass as given)."""
    check = _VALUE_CHECKS.get(key)
    return value if check is None else check(value, key, kind, where)


def _columns(value, key: str, kind: str, where: str) -> list[str]:
    if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
        raise UsageError(f"{where}: 'columns' must be a non-empty list of distinct column names")
    return [_text(v, key, where) for v in value]


def _flag(value, key: str, kind: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {key!r} must be true or false")
    return value


def _quantile(value, key: str, kind: str, where: str) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise UsageError(f"{where}: 'q' must be a number from 0 to 1")
    return float(value)


def _values(value, key: str, kind: str, where: str) -> list:
    if not isinstance(value, list) or not value:
        raise UsageError(f"{where}: 'values' must be a non-empty list")
    if any(v is None or isinstance(v, (list, dict)) for v in value):
        raise UsageError(f"{where}: 'values' holds texts, numbers or booleans only")
    return value


def _max_age(value, key: str, kind: str, where: str):
    from mlctl.store.gc import parse_duration

    return parse_duration(value)


def _type(value, key: str, kind: str, where: str) -> str:
    if value not in TYPES:
        raise UsageError(f"{where}: unknown type {value!r}",
                         hint=_did_you_mean(str(value), TYPES) + f"types: {', '.join(TYPES)}")
    return value


def _text_value(value, key: str, kind: str, where: str) -> str:
    return _text(value, key, where)


def _text(value, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{where}: {key!r} must be a non-empty text")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bound(value, key: str, kind: str, where: str):
    """Numbers, except timestamp_between: an ISO time (naive is UTC) or now/-1d, kept as ns."""
    if kind == "timestamp_between":
        from mlctl.features.timeutil import parse_time

        return parse_time(value.isoformat() if hasattr(value, "isoformat") else str(value), f"{key} of {where}")
    if not _is_number(value):
        raise UsageError(f"{where}: {key!r} must be a finite number, not {value!r}")
    if kind in ("length_between", "row_count", "distinct_count") and (value < 0 or value != int(value)):
        raise UsageError(f"{where}: {key!r} must be a whole number >= 0")
    return value


_VALUE_CHECKS = {
    "column": _text_value, "pattern": _text_value, "condition": _text_value,
    "columns": _columns,
    "strict_min": _flag, "strict_max": _flag, "strict": _flag, "exact": _flag,
    "min": _bound, "max": _bound,
    "q": _quantile,
    "values": _values,
    "max_age": _max_age,
    "type": _type,
}


def _check_kind(kind: str, params: dict, where: str) -> None:
    if "min" in params and "max" in params and params["min"] > params["max"]:
        raise UsageError(f"{where}: min {params['min']} is above max {params['max']}")
    bounded = KINDS[kind].optional & {"min", "max"}
    if bounded and not (params.keys() & {"min", "max"}):
        raise UsageError(f"{where}: give 'min', 'max' or both")
    if kind == "condition":
        params["tree"] = conditions.parse(params["condition"])
