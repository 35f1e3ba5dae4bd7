"""A brute-force Python evaluator of filter trees: the semantics sql.py must match."""

from __future__ import annotations

import math
import operator

from mlctl.tracking.query import BoolOp, Compare, Not

MISSING = object()
OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def lookup(run, field):
    if field.scope == "attributes":
        if field.key == "git_commit":
            return run.git["commit"]
        if field.key == "git_dirty":
            return run.git["dirty"]
        return getattr(run, field.key)
    return getattr(run, field.scope).get(field.key, MISSING)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def evaluate(node, run) -> bool:
    if isinstance(node, BoolOp):
        results = [evaluate(item, run) for item in node.items]
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, Not):
        return not evaluate(node.item, run)
    value = lookup(run, node.field)
    if node.op == "isnull":
        null = value is MISSING or (value is None and node.field.scope in ("params", "attributes"))
        return not null if node.negate else null
    result = compare(node, value)
    if node.negate:
        present = value is not MISSING and not (value is None and node.field.scope in ("params", "attributes"))
        return present and not result
    return result


# the reference oracle spells out every case of the filter rules one after the other, hence the noqa
def compare(node: Compare, value) -> bool:  # noqa: C901
    if node.op == "in":
        return any(compare(Compare(node.field, "==", v), value) for v in node.value)
    lit = node.value
    if lit is None:
        null = value is MISSING or (value is None and node.field.scope in ("params", "attributes"))
        return null if node.op == "==" else not null
    if value is MISSING:
        return False
    if isinstance(lit, bool):
        if node.op == "==":
            return value is lit
        return not (isinstance(value, bool) and value == lit)
    if is_number(lit):
        if isinstance(lit, float) and math.isnan(lit):
            if node.op == "==":
                return node.field.scope == "metrics" and isinstance(value, float) and math.isnan(value)
            if node.op == "!=":
                return is_number(value) and not (isinstance(value, float) and math.isnan(value))
            return False
        if not is_number(value) or (isinstance(value, float) and math.isnan(value)):
            return False
        return OPS[node.op](value, lit)
    # a string literal
    text_match = isinstance(value, str) and OPS[node.op](value, lit)
    if node.field.scope == "params" and node.op in ("==", "!="):
        try:
            number = float(lit)
        except ValueError:
            return text_match
        if is_number(value) and not (isinstance(value, float) and math.isnan(value)) and math.isfinite(number):
            return text_match or OPS[node.op](value, number)
    return text_match
