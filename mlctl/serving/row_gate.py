"""`mlctl serve --validate SUITE[:DATASET]`: the suite's row-level expectations, checked on
every request's rows before the model sees them; a row that breaks an `error` expectation
is a 400 naming the expectation, the column and the row.

Only what one request can decide is checked: not_null, between, in_set, not_in_set, regex
and length_between on the model's input columns, with the same rules as `data validate`
(missing values skip every check but not_null; in_set compares numbers as numbers and
anything else as text). Statistics, table expectations, ordering and uniqueness need the
whole dataset, and `warn` expectations never refuse a request; neither is checked here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from mlctl.errors import UsageError
from mlctl.serving.inputs import InputError

PER_REQUEST = ("not_null", "between", "in_set", "not_in_set", "regex", "length_between")


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _between(params: dict) -> Callable[[object], bool]:
    low, high = params.get("min"), params.get("max")
    strict_low, strict_high = params.get("strict_min", False), params.get("strict_max", False)

    def holds(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if low is not None and (value <= low if strict_low else value < low):
            return False
        return high is None or not (value >= high if strict_high else value > high)
    return holds


def _as_member(value):
    """How in_set compares (as `data validate`): numbers as numbers, booleans as true/false,
    anything else as text."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, (int, float)) else str(value)


def _in_set(params: dict, inside: bool) -> Callable[[object], bool]:
    allowed = {_as_member(v) for v in params["values"]}
    return lambda value: (_as_member(value) in allowed) == inside


def _regex(params: dict) -> Callable[[object], bool]:
    pattern = re.compile(params["pattern"])
    return lambda value: pattern.search(str(value)) is not None


def _length(params: dict) -> Callable[[object], bool]:
    low, high = params.get("min"), params.get("max")
    return lambda value: isinstance(value, str) and (low is None or len(value) >= low) and \
        (high is None or len(value) <= high)


TESTS = {"between": _between, "in_set": lambda p: _in_set(p, True), "not_in_set": lambda p: _in_set(p, False),
         "regex": _regex, "length_between": _length}


@dataclass
class RowCheck:
    name: str
    column: str
    index: int  # the column's position in a decoded row
    holds: Callable[[object], bool] | None  # None: not_null

    def first_failure(self, rows: list) -> tuple[int, object] | None:
        for number, row in enumerate(rows):
            value = row[self.index]
            if self.holds is None:
                if missing(value):
                    return number, value
            elif not missing(value) and not self.holds(value):
                return number, value
        return None


class RowGate:
    """The per-request checks of one dataset of a suite, bound to the model's columns."""

    def __init__(self, label: str, expectations: list, names: list[str]):
        index = {name: i for i, name in enumerate(names)}
        self.label = label
        self.checks = [RowCheck(e.name, e.params["column"], index[e.params["column"]],
                                None if e.kind == "not_null" else TESTS[e.kind](e.params))
                       for e in expectations if e.kind in PER_REQUEST and e.severity == "error"
                       and e.params.get("column") in index]
        self.skipped = len(expectations) - len(self.checks)

    def check(self, rows: list) -> None:
        for check in self.checks:
            failure = check.first_failure(rows)
            if failure is not None:
                number, value = failure
                raise InputError(f"row {number}: column '{check.column}' fails expectation '{check.name}' "
                                 f"({self.label}): got {value!r}", check.column)

    def describe(self) -> dict:
        return {"suite": self.label, "checked": [c.name for c in self.checks], "not_checked": self.skipped}


def load_gate(repo, spec: str, names: list[str]) -> RowGate:
    """``SUITE`` (a suite with one dataset) or ``SUITE:DATASET``, for a model taking ``names``."""
    from mlctl.validation.api import load_suite

    suite_path, _, dataset = spec.partition(":")
    suite = load_suite(repo, suite_path)
    if not dataset:
        if len(suite.datasets) != 1:
            raise UsageError(f"--validate {spec}: the suite has {len(suite.datasets)} datasets; name one",
                             hint=f"--validate {suite_path}:DATASET (datasets: "
                                  f"{', '.join(d.target for d in suite.datasets)})")
        chosen = suite.datasets[0]
    else:
        chosen = suite.dataset(dataset)
    gate = RowGate(f"{suite.path}:{chosen.target}", chosen.expectations, names)
    if not gate.checks:
        raise UsageError(f"--validate {spec}: no row-level `error` expectation of {chosen.target} is about an input "
                         f"column of the model", hint=f"per request: {', '.join(PER_REQUEST)} on "
                                                      f"{', '.join(names)}")
    return gate
