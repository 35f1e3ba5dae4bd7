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

from dataclasses import dataclass, field
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.schema import MISSING, Checker, did_you_mean, is_one_of, key_path, load_yaml
from mlctl.store.times import ns_to_iso, parse_duration, parse_time_ns
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
            shown.update({k: ns_to_iso(shown[k]) for k in ("min", "max") if k in shown})
        return {"expect": self.kind, "name": self.name, "level": self.level, "severity": self.severity,
                "mostly": self.mostly if self.row_level else None, **shown}


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
                         hint=did_you_mean(target, names) + f"the suite covers: {', '.join(names) or 'nothing'}")


def load(path: str | Path) -> Suite:
    hint = f"write one ({DEFAULT_SUITE}, see docs/validation.md) or pass --suite FILE"
    return parse(load_yaml(path, str(path), hint=hint), str(path))


def parse(document, source: str = DEFAULT_SUITE) -> Suite:
    c = Checker(source)
    document = c.mapping(document, "", ("datasets", "version"), required=True, what="a map with a 'datasets' key")
    what = "a map of each dataset (a path or glob) to its expectations"
    datasets = c.mapping(document.get("datasets"), "datasets", required=True, what=what)
    if not datasets:
        c.expected("datasets", what, datasets)
    return Suite(source, [_dataset(c, str(target), body) for target, body in datasets.items()])


def _dataset(c: Checker, target: str, body) -> DatasetSuite:
    path = key_path("datasets", target)
    body = c.mapping(body, path, ("expectations",), required=True, what="a map with an 'expectations' list")
    items = c.list_of(body.get("expectations"), f"{path}.expectations", lambda item, where: item,
                      "expectations", non_empty=True)
    expectations = [parse_expectation(c, item, f"{path}.expectations[{i}]") for i, item in enumerate(items)]
    _unique_names(c, expectations, path)
    return DatasetSuite(target, expectations)


def _unique_names(c: Checker, expectations: list[Expectation], path: str) -> None:
    seen: set[str] = set()
    for e in expectations:
        if e.name in seen:
            c.fail(path, f"two expectations are named {e.name!r}", hint="give one of them a different `name:`")
        seen.add(e.name)


def parse_expectation(c: Checker, item, path: str) -> Expectation:
    if not isinstance(item, dict) or "expect" not in item:
        c.expected(path, "a map with an 'expect' key (e.g. expect: not_null)", item)
    kind_name = item["expect"]
    if not is_one_of(kind_name, KINDS):
        c.expected(f"{path}.expect", "an expectation type (see docs/validation.md)", kind_name,
                   hint=did_you_mean(kind_name, KINDS) or None)
    kind = KINDS[kind_name]
    known = COMMON_KEYS | kind.required | kind.optional | ({"mostly"} if kind.row_level else set())
    c.known_keys(item, path, sorted(known))
    params = {key: _check_value(c, key, item.get(key, MISSING), kind_name, key_path(path, key))
              for key in sorted(kind.required | kind.optional) if key in item or key in kind.required}
    _check_kind(c, kind_name, params, path)
    return Expectation(kind_name, _name(c, item, kind_name, params, path), _severity(c, item, path),
                       _mostly(c, item, path), params)


def _name(c: Checker, item: dict, kind: str, params: dict, path: str) -> str:
    if "name" in item:
        return _text(c, item["name"], f"{path}.name", "a non-empty string", blank_ok=False)
    subject = params.get("column") or ",".join(params.get("columns", [])) or params.get("condition", "")
    return f"{kind}({subject})" if subject else kind


def _severity(c: Checker, item: dict, path: str) -> str:
    return c.choice(item.get("severity", "error"), f"{path}.severity", SEVERITIES)


def _mostly(c: Checker, item: dict, path: str) -> float:
    return c.number(item.get("mostly", 1.0), f"{path}.mostly", 0, 1)


def _check_value(c: Checker, key: str, value, kind: str, path: str):
    if key in ("column", "pattern", "condition"):
        return _text(c, value, path, "a column name" if key == "column" else "a non-empty string")
    if key == "columns":
        names = c.list_of(value, path, lambda v, where: _text(c, v, where, "a column name"), "column names",
                          non_empty=True)
        if len(set(names)) != len(names):
            c.expected(path, "a non-empty list of distinct column names", value)
        return names
    if key in ("strict_min", "strict_max", "strict", "exact"):
        return c.flag(value, path)
    if key in ("min", "max"):
        return _bound(c, value, path, kind)
    if key == "q":
        return c.number(value, path, 0, 1)
    if key == "values":
        return c.list_of(value, path, lambda v, where: _scalar(c, v, where), "texts, numbers or booleans",
                         non_empty=True)
    if key == "max_age":
        return c.convert(value, path, parse_duration, "a duration like 30m, 12h, 1d or 2w", explain=False)
    return c.choice(value, path, TYPES)  # the one key left: type


def _text(c: Checker, value, path: str, what: str, blank_ok: bool = True) -> str:
    """A string as written (not stripped: it is a column's name or the user's label)."""
    if not isinstance(value, str) or not (value if blank_ok else value.strip()):
        c.expected(path, what, value)
    return value


def _scalar(c: Checker, value, path: str):
    if value is None or isinstance(value, (list, dict)):
        c.expected(path, "a text, a number or a boolean", value)
    return value


def _bound(c: Checker, value, path: str, kind: str):
    """Numbers, except timestamp_between: an ISO time (naive is UTC) or now/-1d, kept as ns."""
    if kind == "timestamp_between":
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return c.convert(text, path, parse_time_ns, "an ISO 8601 time, now or -1d", explain=False)
    c.number(value, path)
    if kind in ("length_between", "row_count", "distinct_count") and (value < 0 or value != int(value)):
        c.expected(path, "a whole number >= 0", value)
    return value  # as written: an int stays an int in the report


def _check_kind(c: Checker, kind: str, params: dict, path: str) -> None:
    if "min" in params and "max" in params and params["min"] > params["max"]:
        c.fail(path, f"min {params['min']} is above max {params['max']}")
    bounded = KINDS[kind].optional & {"min", "max"}
    if bounded and not (params.keys() & {"min", "max"}):
        c.fail(path, "give 'min', 'max' or both")
    if kind == "condition":
        params["tree"] = c.convert(params["condition"], f"{path}.condition", conditions.parse,
                                   "a condition like price >= discount")
