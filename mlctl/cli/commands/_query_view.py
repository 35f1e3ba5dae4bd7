"""How `mlctl data query` shows its result: a table, JSON row objects, CSV, or a file."""

from __future__ import annotations

import csv
import sys

from mlctl.cli import render


def show(repo, result, as_json: bool, as_csv: bool, output: str | None) -> None:
    from mlctl.data.api import write_result

    if output:
        rows = write_result(repo, result, output)
        render.info(f"{rows} rows written to {output}")
    elif as_json:
        render.emit_json([{c: _number(v) for c, v in zip(result.columns, row)} for row in result.rows()])
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(["" if v is None else v for v in row] for row in result.rows())
    else:
        render.table(result.columns, list(result.rows()))


def _number(value):
    """DuckDB's HUGEINT and DECIMAL reach Python as Decimal: a JSON number, not a string."""
    from decimal import Decimal

    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    return value
