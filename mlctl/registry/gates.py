"""Quality gates (the promotion that checks them: promotion.py).

A gate is ``METRIC OP NUMBER`` (``accuracy>=0.9``, ``rmse < 12.5``; OP is one of >=, >,
<=, <, ==, !=). Its value comes from the ``--eval`` data when the metric is one computed
there (see evaluation.py), else from the version's run. ``promote`` moves the alias only
when every gate holds and, with ``must_beat``, the candidate is at least as good as the
incumbent on the same data; otherwise it returns ``promoted=False`` and changes nothing.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from mlctl.errors import UsageError

OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt}
_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
_OP = re.compile(r">=|<=|==|!=|>|<")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    op: str
    limit: float

    def holds(self, value) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return False
        return bool(OPS[self.op](float(value), self.limit))

    def to_json(self) -> dict:
        return {"gate": self.text, "metric": self.metric, "op": self.op, "limit": self.limit}


def parse_gate(text: str) -> Gate:
    """Parse ``accuracy>=0.9``; a parse error names the offending token and its column."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("empty gate expression", hint='a gate looks like "accuracy>=0.9"')
    pos = _skip(text, 0)
    metric = _METRIC.match(text, pos)
    if not metric:
        _fail(text, pos, "a metric name")
    pos = _skip(text, metric.end())
    op = _OP.match(text, pos)
    if not op or text[op.end():op.end() + 1] in ("=", ">", "<"):
        _fail(text, pos, "one of >=, >, <=, <, ==, !=")
    pos = _skip(text, op.end())
    number = _NUMBER.match(text, pos)
    if not number:
        _fail(text, pos, "a number")
    end = _skip(text, number.end())
    if end < len(text):
        _fail(text, end, "the end of the gate")
    return Gate(text.strip(), metric.group(0), op.group(0), float(number.group(0)))


def parse_gates(gates) -> list[Gate]:
    return [g if isinstance(g, Gate) else parse_gate(g) for g in (gates or [])]


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _fail(text: str, pos: int, expected: str):
    token = re.match(r"\S{1,12}", text[pos:]) if pos < len(text) else None
    found = f'"{token.group(0)}"' if token else "the end"
    raise UsageError(f'cannot parse gate "{text}": expected {expected} at column {pos + 1}, found {found}',
                     hint='a gate looks like "accuracy>=0.9" or "rmse < 12.5"')


@dataclass
class PromotionResult:
    name: str
    version: int
    alias: str
    promoted: bool
    previous: int | None
    checks: list
    comparison: list
    eval: dict | None
    reason: str | None
    message: str
    dry_run: bool = False
    entry: dict | None = None  # the history entry written, when the alias moved

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.checks) and all(c["passed"] for c in self.comparison)

    def to_json(self) -> dict:
        out = dict(self.__dict__)
        out.update(spec=self.spec, passed=self.passed)
        return out
