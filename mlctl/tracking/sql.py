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
    """SQLite's dialect; sql_pg.PgCompiler overrides the primitives marked *dialect*.
    A comparison is an SQL boolean that is never NULL (missing keys compare false)."""

    columns = COLUMN_SQL

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

    # -- dialect: reading a key of a JSON column --------------------------------------------
    def json_path(self, field: Field) -> str:
        """The JSON path as an SQL literal (inlined, so an expression may repeat it)."""
        self.check_key(field)
        return "'" + ('$."' + field.key + '"').replace("'", "''") + "'"

    def check_key(self, field: Field) -> None:
        if '"' in field.key or "\\" in field.key:
            raise FilterError("keys cannot contain quotes or backslashes", field.column, str(field), self.expr)

    def json_expr(self, field: Field) -> str:
        return f"json_extract(r.{field.scope}, {self.json_path(field)})"

    def json_type(self, field: Field) -> str:
        return f"json_type(r.{field.scope}, {self.json_path(field)})"

    def number_of(self, field: Field) -> str:
        """*dialect* The field's value when it is a number, else NULL (a text param is not > 1)."""
        if field.scope != "params":
            return self.json_expr(field)
        return f"(CASE WHEN {self.is_number(field)} THEN {self.json_expr(field)} END)"

    def text_of(self, field: Field) -> str:
        """*dialect* The field's value when it is a string, else NULL."""
        if field.scope != "params":
            return self.json_expr(field)
        return f"(CASE WHEN {self.json_type(field)} = 'text' THEN {self.json_expr(field)} END)"

    def is_number(self, field: Field) -> str:
        """*dialect* True when the key holds a number (NULL when it is missing)."""
        return f"{self.json_type(field)} IN ('integer','real')"

    def is_json_null(self, field: Field) -> str:
        """*dialect* True when the key holds JSON null (a NaN metric)."""
        return f"{self.json_type(field)} = 'null'"

    def is_bool(self, field: Field, value: bool) -> str:
        """*dialect* True when the key holds this boolean."""
        return f"{self.json_type(field)} = '{'true' if value else 'false'}'"

    def is_present(self, field: Field) -> str:
        """*dialect* True when the run has the key (for params: with a non-null value)."""
        if field.scope == "params":
            return f"({self.json_expr(field)} IS NOT NULL)"
        return f"({self.json_type(field)} IS NOT NULL)"

    def number_arg(self, value) -> str:
        """*dialect* A number to compare with number_of()."""
        return self.arg(value)

    def matches(self, expr: str, pattern: str, case_insensitive: bool) -> str:
        """*dialect* ``expr`` LIKE ``pattern`` (% and _, backslash escapes)."""
        if case_insensitive:
            return f"{expr} LIKE {self.arg(pattern)} ESCAPE '\\'"
        return f"{expr} GLOB {self.arg(_like_to_glob(pattern))}"

    @staticmethod
    def sort_driver(node, keys) -> tuple[str, bool] | None:
        """*dialect* (metric key, descending) when the runs can be read in the order of an
        index over that metric's latest values instead of sorting every match (sql_pg.py);
        None: sort as usual."""
        return None

    def sort_expr(self, field: Field) -> str:
        """*dialect* What ORDER BY sorts a key by (NULL: missing, or NaN)."""
        if field.scope == "attributes":
            return self.columns[field.key]
        return self.json_expr(field)

    # -- per value type -------------------------------------------------------------------
    def number(self, node: Compare, value) -> str:
        scope = node.field.scope
        if scope == "tags":
            raise self.error(node, "tags hold strings: compare them with a quoted string")
        if isinstance(value, float) and math.isnan(value):
            return self.nan(node)
        return f"COALESCE({self.number_of(node.field)} {SQL_OPS[node.op]} {self.number_arg(value)}, FALSE)"

    def nan(self, node: Compare) -> str:
        if node.op not in ("==", "!="):
            return "FALSE"  # nothing is ordered against NaN
        if node.field.scope == "metrics":  # a NaN metric is stored as JSON null
            wanted = self.is_json_null(node.field) if node.op == "==" else self.is_number(node.field)
            return f"COALESCE({wanted}, FALSE)"
        return "FALSE" if node.op == "==" else f"COALESCE({self.number_of(node.field)} IS NOT NULL, FALSE)"

    def string(self, node: Compare) -> str:
        scope = node.field.scope
        if scope == "metrics":
            raise self.error(node, "metrics are numbers: compare them with a number")
        sql = f"COALESCE({self.text_of(node.field)} {SQL_OPS[node.op]} {self.arg(node.value)}, FALSE)"
        number = _as_number(node.value)
        if scope == "params" and number is not None and node.op in ("==", "!="):
            sql = f"({sql} OR {self.number(Compare(node.field, node.op, number), number)})"
        return sql

    def boolean(self, node: Compare) -> str:
        if node.field.scope != "params" or node.op not in ("==", "!="):
            raise self.error(node, "true/false compare only with params, using == or !=")
        if node.op == "==":
            return f"COALESCE({self.is_bool(node.field, node.value)}, FALSE)"
        present = f"{self.json_type(node.field)} IS NOT NULL"
        return f"COALESCE({present} AND NOT {self.is_bool(node.field, node.value)}, FALSE)"

    def is_null(self, node: Compare) -> str:
        field = node.field
        if field.scope == "attributes":
            sql = f"({self.columns[field.key]} IS NOT NULL)"
        else:
            sql = self.is_present(field)
        return sql if node.negate else f"(NOT {sql})"

    def like(self, node: Compare) -> str:
        field = node.field
        if field.scope == "metrics":
            raise self.error(node, "metrics are numbers: 'like' needs a text field")
        expr = self.columns[field.key] if field.scope == "attributes" else self.text_of(field)
        return f"COALESCE({self.matches(expr, node.value, node.op == 'ilike')}, FALSE)"

    def attribute(self, node: Compare) -> str:
        from mlctl.tracking.query import ATTRIBUTES

        key = node.field.key
        kind = ATTRIBUTES[key]
        value = node.value
        column = self.columns[key]
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
            return "FALSE"
        return f"COALESCE({column} {SQL_OPS[node.op]} {self.arg(value)}, FALSE)"


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


def where(node, expr: str = "", compiler_class=Compiler) -> tuple[str, list]:
    compiler = compiler_class(expr)
    return compiler.compile(node), compiler.args


def order_by(keys, compiler_class=Compiler) -> tuple[str, list]:
    compiler = compiler_class()
    parts = []
    for field, desc in keys:
        expr = compiler.sort_expr(field)
        parts.append(f"({expr}) IS NULL, ({expr}) {'DESC' if desc else 'ASC'}")
    return ", ".join(parts), compiler.args
