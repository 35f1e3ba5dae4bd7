"""A profile of a table, for `--suggest`: per column its type, missing values, range,
distinct count and (for few-valued text columns) its value set.

Like evaluation, it runs in DuckDB over the loaded table ``t``: one aggregate statement
for every column's counts and ranges, then one more only when some text column has few
enough distinct values to list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.validation.checks import family, micros, missing, present, quote

SET_LIMIT = 20  # text columns with at most this many distinct values get a value set


@dataclass
class ColumnProfile:
    name: str
    duck_type: str
    family: str  # checks.family: integer, float, string, boolean, timestamp, date, other
    missing: int  # null, or NaN in a float column
    distinct: int  # distinct present values
    low: object = None  # smallest present value (timestamps and dates: microseconds UTC)
    high: object = None
    values: list = field(default_factory=list)  # the distinct values, when few (text only)


@dataclass
class TableProfile:
    rows: int
    columns: list[ColumnProfile]


def _ranged(fam: str) -> bool:
    return fam in ("integer", "float", "timestamp", "date")


def profile(con, columns: dict[str, str]) -> TableProfile:
    """``columns``: name -> DuckDB type of ``t`` (evaluate.load's answer)."""
    selects, slots = ["count(*)"], {}
    for name, duck_type in columns.items():
        fam = family(duck_type)
        keep = f"FILTER (WHERE {present(name, duck_type)})"
        exprs = [f"count_if({missing(name, duck_type)})", f"count(DISTINCT {quote(name)}) {keep}"]
        if _ranged(fam):
            value = micros(name, duck_type) if fam in ("timestamp", "date") else quote(name)
            exprs += [f"min({value}) {keep}", f"max({value}) {keep}"]
        slots[name] = range(len(selects), len(selects) + len(exprs))
        selects.extend(exprs)
    row = con.execute(f"SELECT {', '.join(selects)} FROM t").fetchone()
    found = []
    for name, duck_type in columns.items():
        values = [row[k] for k in slots[name]]
        found.append(ColumnProfile(name, duck_type, family(duck_type), int(values[0] or 0), int(values[1] or 0),
                                   *values[2:]))
    _value_sets(con, [c for c in found if c.family == "string" and 0 < c.distinct <= SET_LIMIT])
    return TableProfile(int(row[0]), found)


def _value_sets(con, few: list[ColumnProfile]) -> None:
    """The value sets of the few-valued text columns, in one more statement, sorted."""
    if not few:
        return
    lists = [f"list(DISTINCT {quote(c.name)} ORDER BY {quote(c.name)}) FILTER (WHERE {present(c.name, c.duck_type)})"
             for c in few]
    row = con.execute(f"SELECT {', '.join(lists)} FROM t").fetchone()
    for column, values in zip(few, row):
        column.values = list(values or [])
