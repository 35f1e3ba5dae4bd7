"""Compile filter and sort trees (query.py) to SQL over the runs index.

Semantics: a comparison on a key the run lacks is false (so a filter on a key no run
has is an empty result, not an error); comparisons are two-valued, so ``not`` of such a
comparison is true. Params keep their types: numbers compare with numbers, strings with
strings, and ``params.C == '2'`` also matches the number 2. A NaN metric equals only
``nan`` and is never greater or smaller than anything; in sorts, NaN and missing values
come last in either direction.
"""

from __future__ import annotations

import math

from mlctl.errors import UsageError
from mlctl.store.times import NS, parse_time_ns
from mlctl.tracking.query import BoolOp, Compare, Field, FilterError, Not

COLUMN_SQL = {
    "id": "r.id", "name": "r.name", "experiment": "r.experiment", "status": "r.status",
    "host": "r.host", "command": "r.command", "parent_id": "r.parent_id", "origin": "r.origin",
    "git_commit": "r.git_commit", "git_dirty": "r.git_dirty", "start_time": "r.start_time",
    "end_time": "r.end_time", "exit_code": "r.exit_code",
    "duration": "(COALESCE(r.end_time, CAST(strftime('%s','now') AS REAL)) - r.start_time)",
}
SQL_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Compiler:
    def __init__(self, expr: str = ""):
        self.expr = expr
        self.args: list = []

    def arg(self, value) -> str:
        self.args.append(value)
        return "?"

    def error(self, node: Compare, message: str) -> FilterError:
        return FilterError(message, node.field.column, str(node.field), self.expr)

    # -- boolean structure ----------------------------------------------------------------
    def compile(self, node) -> str:
        if isinstance(node, BoolOp):
            joiner = " AND " if node.op == "and" else " OR "
            return "(" + joiner.join(self.compile(item) for item in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.compile(node.item)})"
        sql = self.compare(node)
        if node.negate and node.op != "isnull":  # like !=, "not in" needs the key present
            present = self.is_null(Compare(node.field, "isnull", None, True, node.column))
            return f"({present} AND NOT {sql})"
        return sql

    def compare(self, node: Compare) -> str:
        if node.op == "isnull":
            return self.is_null(node)
        if node.op == "in":
            parts = [self.compare(Compare(node.field, "==", v, column=node.column)) for v in node.value]
            return "(" + " OR ".join(parts) + ")"
        if node.op in ("like", "ilike"):
            return self.like(node)
        scope = node.field.scope
        if scope == "attributes":
            return self.attribute(node)
        value = node.value
        if value is None:
            return self.is_null(Compare(node.field, "isnull", None, node.op == "!=", node.column))
        if isinstance(value, bool):
            return self.boolean(node)
        if isinstance(value, (int, float)):
            return self.number(node, value)
        return self.string(node)

    # -- per value type -------------------------------------------------------------------
    def json_path(self, field: Field) -> str:
        """The JSON path as an SQL literal (inlined, so an expression may repeat it)."""
        if '"' in field.key or "\\" in field.key:
            raise FilterError("keys cannot contain quotes or backslashes", field.column, str(field), self.expr)
        return "'" + ('$."' + field.key + '"').replace("'", "''") + "'"

    def json_expr(self, field: Field) -> str:
        return f"json_extract(r.{field.scope}, {self.json_path(field)})"

    def json_type(self, field: Field) -> str:
        return f"json_type(r.{field.scope}, {self.json_path(field)})"

    def number(self, node: Compare, value) -> str:
        scope = node.field.scope
        if scope == "tags":
            raise self.error(node, "tags hold strings: compare them with a quoted string")
        if isinstance(value, float) and math.isnan(value):
            return self.nan(node)
        return f"COALESCE({self.typed_number(node.field)} {SQL_OPS[node.op]} {self.arg(value)}, 0)"

    def typed_number(self, field: Field) -> str:
        """The field's value when it is a number, else NULL (a text param is not > 1)."""
        if field.scope != "params":
            return self.json_expr(field)
        kind = self.json_type(field)
        return f"(CASE WHEN {kind} IN ('integer','real') THEN {self.json_expr(field)} END)"

    def nan(self, node: Compare) -> str:
        if node.op not in ("==", "!="):
            return "0"  # nothing is ordered against NaN
        if node.field.scope == "metrics":  # a NaN metric is stored as JSON null
            kind = self.json_type(node.field)
            wanted = "= 'null'" if node.op == "==" else "IN ('integer','real')"
            return f"COALESCE({kind} {wanted}, 0)"
        return "0" if node.op == "==" else f"COALESCE({self.typed_number(node.field)} IS NOT NULL, 0)"

    def string(self, node: Compare) -> str:
        scope = node.field.scope
        if scope == "metrics":
            raise self.error(node, "metrics are numbers: compare them with a number")
        expr = self.json_expr(node.field)
        if scope == "params":
            expr = f"(CASE WHEN {self.json_type(node.field)} = 'text' THEN {expr} END)"
        sql = f"COALESCE({expr} {SQL_OPS[node.op]} {self.arg(node.value)}, 0)"
        number = _as_number(node.value)
        if scope == "params" and number is not None and node.op in ("==", "!="):
            sql = f"({sql} OR {self.number(Compare(node.field, node.op, number), number)})"
        return sql

    def boolean(self, node: Compare) -> str:
        if node.field.scope != "params" or node.op not in ("==", "!="):
            raise self.error(node, "true/false compare only with params, using == or !=")
        kind = self.json_type(node.field)
        wanted = "'true'" if node.value else "'false'"
        if node.op == "==":
            return f"COALESCE({kind} = {wanted}, 0)"
        return f"COALESCE({kind} IS NOT NULL AND {kind} != {wanted}, 0)"

    def is_null(self, node: Compare) -> str:
        field = node.field
        if field.scope == "attributes":
            sql = f"({COLUMN_SQL[field.key]} IS NULL)"
        elif field.scope == "params":
            sql = f"({self.json_expr(field)} IS NULL)"
        else:
            sql = f"({self.json_type(field)} IS NULL)"
        return f"(NOT {sql})" if node.negate else sql

    def like(self, node: Compare) -> str:
        field = node.field
        if field.scope == "metrics":
            raise self.error(node, "metrics are numbers: 'like' needs a text field")
        if field.scope == "attributes":
            expr = COLUMN_SQL[field.key]
        elif field.scope == "params":
            expr = f"(CASE WHEN {self.json_type(field)} = 'text' THEN {self.json_expr(field)} END)"
        else:
            expr = self.json_expr(field)
        if node.op == "ilike":
            return f"COALESCE({expr} LIKE {self.arg(node.value)} ESCAPE '\\', 0)"
        return f"COALESCE({expr} GLOB {self.arg(_like_to_glob(node.value))}, 0)"

    def attribute(self, node: Compare) -> str:
        from mlctl.tracking.query import ATTRIBUTES

        key = node.field.key
        kind = ATTRIBUTES[key]
        value = node.value
        column = COLUMN_SQL[key]
        if value is None:
            return self.is_null(Compare(node.field, "isnull", None, node.op == "!=", node.column))
        if kind == "bool":
            if not isinstance(value, bool) or node.op not in ("==", "!="):
                raise self.error(node, f"{key} is true or false")
            value = int(value)
        elif kind == "time" and isinstance(value, str):
            value = _parse_time(value, node, self)
        elif kind in ("time", "number") and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise self.error(node, f"{key} is a number" + (" or an ISO date" if kind == "time" else ""))
        elif kind == "text" and not isinstance(value, str):
            raise self.error(node, f"{key} is text: compare it with a quoted string")
        if isinstance(value, float) and math.isnan(value):
            return "0"
        return f"COALESCE({column} {SQL_OPS[node.op]} {self.arg(value)}, 0)"

    # -- sorting --------------------------------------------------------------------------
    def sort_expr(self, field: Field) -> str:
        if field.scope == "attributes":
            return COLUMN_SQL[field.key]
        return self.json_expr(field)


def _as_number(text: str):
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) and text.strip().lower() not in ("inf", "+inf", "-inf", "infinity", "-infinity", "nan"):
        return None
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _like_to_glob(pattern: str) -> str:
    out = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
    return "".join(out)


def _parse_time(text: str, node: Compare, compiler: Compiler) -> float:
    """Epoch seconds; a naive time means local time, as `run list` shows times."""
    try:
        return parse_time_ns(text, "time", naive_local=True) / NS
    except UsageError as exc:
        raise compiler.error(node, f"{exc.message} ({exc.hint})") from None


def where(node, expr: str = "") -> tuple[str, list]:
    compiler = Compiler(expr)
    return compiler.compile(node), compiler.args


def order_by(keys) -> tuple[str, list]:
    compiler = Compiler()
    parts = []
    for field, desc in keys:
        null_check = compiler.sort_expr(field)
        parts.append(f"({null_check}) IS NULL, ({compiler.sort_expr(field)}) {'DESC' if desc else 'ASC'}")
    return ", ".join(parts), compiler.args
