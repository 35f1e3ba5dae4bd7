"""The filter compiler's PostgreSQL dialect: the same semantics as sql.py over JSONB.

Numbers are compared as ``numeric``, not ``float8``: an infinite param or metric is
stored as the JSON number ``9e999`` (values.py), which ``numeric`` holds and ``float8``
refuses. Text is compared and sorted with ``COLLATE "C"`` (bytes, as SQLite does),
whatever the database's locale.
"""

from __future__ import annotations

import math

from mlctl.tracking.query import BoolOp, Compare, Field
from mlctl.tracking.sql import COLUMN_SQL, Compiler

PG_COLUMNS = {**COLUMN_SQL, "duration": "(COALESCE(r.end_time, EXTRACT(EPOCH FROM now())::float8) - r.start_time)"}


class PgCompiler(Compiler):
    columns = PG_COLUMNS

    @staticmethod
    def sort_driver(node, keys) -> tuple[str, bool] | None:
        """A sort led by a metric that the filter requires to be a number (``metrics.acc >
        0.9 and ...`` sorted by ``-metrics.acc``) reads the ``latest`` table's (key, value)
        index in order and stops at the page's end, instead of sorting every matching run:
        milliseconds rather than a scan of the whole table. Only then: a run without the
        metric, or with NaN, would be missing from the join, but such a run cannot match.
        The order is the same: ``latest.value`` is the float the metrics JSON spells, and
        floats order as their decimal spellings do."""
        if not keys or keys[0][0].scope != "metrics":
            return None
        field, descending = keys[0]
        return (field.key, descending) if requires_number(node, field) else None

    def key(self, field: Field) -> str:
        self.check_key(field)
        return "'" + field.key.replace("'", "''") + "'"

    def json_value(self, field: Field) -> str:
        return f"(r.{field.scope} -> {self.key(field)})"

    def json_text(self, field: Field) -> str:
        return f"(r.{field.scope} ->> {self.key(field)})"

    def json_type(self, field: Field) -> str:
        return f"jsonb_typeof{self.json_value(field)}"

    def number_of(self, field: Field) -> str:
        return f"(CASE WHEN {self.is_number(field)} THEN {self.json_text(field)}::numeric END)"

    def text_of(self, field: Field) -> str:
        if field.scope != "params":
            return f'({self.json_text(field)} COLLATE "C")'
        return f'(CASE WHEN {self.json_type(field)} = \'string\' THEN {self.json_text(field)} COLLATE "C" END)'

    def is_number(self, field: Field) -> str:
        return f"{self.json_type(field)} = 'number'"

    def is_json_null(self, field: Field) -> str:
        return f"{self.json_type(field)} = 'null'"

    def is_bool(self, field: Field, value: bool) -> str:
        return f"{self.json_value(field)} = '{'true' if value else 'false'}'::jsonb"

    def is_present(self, field: Field) -> str:
        if field.scope == "params":
            return f"({self.json_text(field)} IS NOT NULL)"
        return f"({self.json_value(field)} IS NOT NULL)"

    def number_arg(self, value) -> str:
        """The number as text: float8 -> numeric keeps only 15 digits, which would make
        ``metrics.x == 0.30000000000000004`` miss the stored value. An infinity is the
        number stored for one (9e999, values.py), so ``== inf`` finds it."""
        if isinstance(value, float) and math.isinf(value):
            text = "9e999" if value > 0 else "-9e999"
        else:
            text = repr(value)
        return f"CAST({self.arg(text)} AS numeric)"

    def matches(self, expr: str, pattern: str, case_insensitive: bool) -> str:
        return f"{expr} {'ILIKE' if case_insensitive else 'LIKE'} {self.arg(pattern)} ESCAPE '\\'"

    def sort_expr(self, field: Field) -> str:
        if field.scope == "attributes":
            return self.columns[field.key]
        if field.scope == "metrics":
            return f"{self.json_text(field)}::numeric"
        if field.scope == "tags":
            return self.text_of(field)
        return f"NULLIF({self.json_value(field)}, 'null'::jsonb)"


def requires_number(node, field: Field) -> bool:
    """Whether every run ``node`` matches has a number (not NaN) in ``field``: a numeric
    comparison on it, alone or in a top-level ``and``."""
    if isinstance(node, BoolOp):
        return node.op == "and" and any(requires_number(item, field) for item in node.items)
    if not isinstance(node, Compare) or node.negate or node.op not in ("==", "<", "<=", ">", ">="):
        return False
    value = node.value
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    return numeric and (node.field.scope, node.field.key) == (field.scope, field.key)
