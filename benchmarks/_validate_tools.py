"""The other sides of benchmarks/validate_vs_gx.py, each run as its own process:

    PYTHON benchmarks/_validate_tools.py gx|pandera|floor DATA.parquet SUITE.json OUT.json

Each translates the benchmark's suite (benchmarks/_validate_suite.py) into its tool's own
terms, checks the table and writes {check name: {success, unexpected, observed}}.
GX runs in benchmarks/.venvs/gx, pandera in benchmarks/.venvs/pandera; the floor (one
DuckDB statement) in mlctl's venv. Only the standard library is imported at the top.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _validate_suite import max_age_seconds, utc  # noqa: E402

# Where a tool's check is not the same check as mlctl's, what it is instead (printed).
SEMANTICS = {
    "gx": {
        "null_share(price)": "no null-share expectation: not_null with mostly = 1 - max (same verdict)",
        "freshness(updated_at)": "no freshness expectation: column max >= now - max_age",
        "not_in_future(created_at)": "between with max_value = now",
        "condition": "pair A >= B with ignore_row_if = either_value_is_missing",
    },
    "pandera": {
        "increasing(seq)": "custom element-wise check (no built-in)",
        "condition": "custom DataFrame check, rows with a missing side pass (failure cases: one per cell, rows counted)",
        "row_count": "custom DataFrame check",
        "column_set": "strict=True schema listing all 20 columns",
        "mean(amount)": "custom column check", "median(amount)": "custom column check",
        "stdev(score)": "custom column check", "null_share(price)": "custom column check",
        "distinct_count(category)": "custom column check", "freshness(updated_at)": "custom column check",
    },
}


def _outcome(success, unexpected=None, observed=None) -> dict:
    return {"success": bool(success), "unexpected": None if unexpected is None else int(unexpected),
            "observed": observed}


def _pair(check: dict) -> tuple[str, str]:
    a, b = check["condition"].split(" >= ")
    return a, b


# -- Great Expectations 1.x ------------------------------------------------------------------
def gx_expectation(check: dict, now: dt.datetime):
    import great_expectations as gx

    E, k, col = gx.expectations, check["expect"], check.get("column")
    bounds = {"min_value": check.get("min"), "max_value": check.get("max")}
    make = {
        "not_null": lambda: E.ExpectColumnValuesToNotBeNull(column=col),
        "unique": lambda: E.ExpectColumnValuesToBeUnique(column=col),
        "between": lambda: E.ExpectColumnValuesToBeBetween(column=col, **bounds),
        "in_set": lambda: E.ExpectColumnValuesToBeInSet(column=col, value_set=check.get("values")),
        "regex": lambda: E.ExpectColumnValuesToMatchRegex(column=col, regex=check.get("pattern")),
        "length_between": lambda: E.ExpectColumnValueLengthsToBeBetween(column=col, **bounds),
        "timestamp_between": lambda: E.ExpectColumnValuesToBeBetween(
            column=col, min_value=utc(check["min"]), max_value=utc(check["max"])),
        "not_in_future": lambda: E.ExpectColumnValuesToBeBetween(column=col, max_value=now),
        "increasing": lambda: E.ExpectColumnValuesToBeIncreasing(column=col),
        "condition": lambda: E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=_pair(check)[0], column_B=_pair(check)[1], or_equal=True, ignore_row_if="either_value_is_missing"),
        "row_count": lambda: E.ExpectTableRowCountToBeBetween(**bounds),
        "column_set": lambda: E.ExpectTableColumnsToMatchSet(column_set=check.get("columns"), exact_match=True),
        "mean": lambda: E.ExpectColumnMeanToBeBetween(column=col, **bounds),
        "median": lambda: E.ExpectColumnMedianToBeBetween(column=col, **bounds),
        "stdev": lambda: E.ExpectColumnStdevToBeBetween(column=col, **bounds),
        "null_share": lambda: E.ExpectColumnValuesToNotBeNull(column=col, mostly=1 - check.get("max", 1)),
        "distinct_count": lambda: E.ExpectColumnUniqueValueCountToBeBetween(column=col, **bounds),
        "freshness": lambda: E.ExpectColumnMaxToBeBetween(
            column=col, min_value=now.replace(tzinfo=dt.timezone.utc)
            - dt.timedelta(seconds=max_age_seconds(check.get("max_age")))),
    }
    expectation = make[k]()
    expectation.meta = {"name": check["name"]}
    return expectation


def run_gx(data: str, checks: list[dict]) -> dict:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import pandas as pd

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    df = pd.read_parquet(data)
    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas("bench").add_dataframe_asset("table")
             .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name="bench", expectations=[gx_expectation(c, now) for c in checks])
    validation = batch.validate(suite, result_format="SUMMARY")
    kinds = {c["name"]: c["expect"] for c in checks}
    out = {}
    for r in validation.results:
        name, result = r.expectation_config.meta["name"], r.result
        observed = result.get("observed_value")
        if kinds[name] == "null_share":
            observed = result["unexpected_count"] / result["element_count"]
        out[name] = _outcome(r.success, result.get("unexpected_count"), _number(observed))
    return out


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# -- pandera -----------------------------------------------------------------------------------
def pandera_schema(checks: list[dict], columns: list[str]):
    """The schema, and where each check's failures show: (context, column, check_number)."""
    import pandera.pandas as pa

    col_checks, frame_checks, unique, not_null = {c: [] for c in columns}, [], set(), set()
    where = {}
    for check in checks:
        k, col, name = check["expect"], check.get("column"), check["name"]
        if k == "not_null":
            not_null.add(col)
            where[name] = ("Column", col, "not_nullable")
        elif k == "unique":
            unique.add(col)
            where[name] = ("Column", col, "field_uniqueness")
        elif k in ("row_count", "condition"):
            where[name] = ("DataFrameSchema", None, len(frame_checks))
            frame_checks.append(_pandera_frame_check(pa, check))
        elif k == "column_set":  # strict=True below
            where[name] = ("DataFrameSchema", None, "column_in_")
        else:
            where[name] = ("Column", col, len(col_checks[col]))
            col_checks[col].append(_pandera_column_check(pa, check, name))
    schema = pa.DataFrameSchema(
        {c: pa.Column(checks=col_checks[c], nullable=c not in not_null, unique=c in unique, required=True)
         for c in columns}, checks=frame_checks, strict=True)
    return schema, where


def _pandera_column_check(pa, check: dict, name: str):
    import pandas as pd

    k, lo, hi = check["expect"], check.get("min"), check.get("max")
    now = pd.Timestamp.now(tz="UTC")
    stat = {"mean": lambda s: s.mean(), "median": lambda s: s.median(), "stdev": lambda s: s.std(),
            "distinct_count": lambda s: s.nunique()}
    if k in stat:
        return pa.Check(lambda s, f=stat[k]: (lo is None or f(s) >= lo) and (hi is None or f(s) <= hi), name=name)
    made = {
        "between": lambda: pa.Check.in_range(lo, hi, name=name),
        "in_set": lambda: pa.Check.isin(check.get("values"), name=name),
        "regex": lambda: pa.Check.str_matches(check.get("pattern"), name=name),
        "length_between": lambda: pa.Check.str_length(lo, hi, name=name),
        "timestamp_between": lambda: pa.Check.in_range(pd.Timestamp(check["min"]), pd.Timestamp(check["max"]),
                                                       name=name),
        "not_in_future": lambda: pa.Check.le(now.tz_localize(None), name=name),
        "increasing": lambda: pa.Check(lambda s: s.diff().fillna(0) >= 0, name=name),
        "null_share": lambda: pa.Check(lambda s: s.isna().mean() <= hi, ignore_na=False, name=name),
        "freshness": lambda: pa.Check(
            lambda s: s.max() >= now - pd.Timedelta(seconds=max_age_seconds(check["max_age"])), name=name),
    }
    return made[k]()


def _pandera_frame_check(pa, check: dict):
    if check["expect"] == "row_count":
        lo, hi = check.get("min", 0), check.get("max", float("inf"))
        return pa.Check(lambda df: lo <= len(df) <= hi, name=check["name"])
    a, b = _pair(check)
    return pa.Check(lambda df: (df[a] >= df[b]) | df[a].isna() | df[b].isna(), name=check["name"])


def run_pandera(data: str, checks: list[dict]) -> dict:
    import pandas as pd
    import pandera.errors

    df = pd.read_parquet(data)
    schema, where = pandera_schema(checks, [c for c in checks if c["expect"] == "column_set"][0]["columns"])
    try:
        schema.validate(df, lazy=True)
        failures = None
    except pandera.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    return {c["name"]: _pandera_outcome(failures, c, where[c["name"]]) for c in checks}


STATISTICS = ("row_count", "column_set", "mean", "median", "stdev", "null_share", "distinct_count", "freshness")


def _pandera_outcome(failures, check: dict, where: tuple) -> dict:
    """A check's failure cases counted: a row-level check lists each failing row (a
    DataFrame check each failing cell, so its distinct rows are counted); a statistic
    one case (False)."""
    context, column, label = where
    if failures is None:
        n = 0
    elif label == "column_in_":
        n = int(failures["check"].astype(str).str.startswith(label).sum())
    else:
        mine = failures[(failures["schema_context"] == context) & (failures["check"] == label)
                        if isinstance(label, str) else
                        (failures["schema_context"] == context) & (failures["check_number"] == label)]
        if column is not None:
            mine = mine[mine["column"] == column]
        n = mine["index"].nunique() if context == "DataFrameSchema" else len(mine)
    return _outcome(n == 0, None if check["expect"] in STATISTICS else n)  # pandera shows no observed values


# -- the floor: one DuckDB statement ---------------------------------------------------------
FLOATS = ("price", "discount", "amount", "score", "ratio")


def _q(c: str) -> str:
    return '"' + c + '"'


def _present(c: str) -> str:
    return f"({_q(c)} IS NOT NULL AND NOT isnan({_q(c)}))" if c in FLOATS else f"({_q(c)} IS NOT NULL)"


def _floor_expr(check: dict) -> str:
    """One check's count or statistic as an aggregate over ``src``; $2 is the (one) regex."""
    k, c = check["expect"], check.get("column")
    if k in _AGGREGATES:
        return _AGGREGATES[k](_q(c), _present(c), check)
    if k in _SUBQUERIES:
        return "(" + _SUBQUERIES[k](_q(c)) + ")"
    if k == "condition":
        a, b = _pair(check)
        return f"count_if({_present(a)} AND {_present(b)} AND NOT {_q(a)} >= {_q(b)})"
    if k == "row_count":
        return "count(*)"
    return "(SELECT list(name ORDER BY name) FROM parquet_schema($1) WHERE name <> 'schema')"  # column_set


_AGGREGATES = {
    "not_null": lambda c, p, k: f"count_if(NOT {p})",
    "between": lambda c, p, k: f"count_if({p} AND NOT ({c} BETWEEN {k['min']} AND {k['max']}))",
    "length_between": lambda c, p, k: f"count_if({p} AND NOT (length({c}) BETWEEN {k['min']} AND {k['max']}))",
    "in_set": lambda c, p, k: f"count_if({p} AND {c} NOT IN ({', '.join(repr(v) for v in k['values'])}))",
    "regex": lambda c, p, k: f"count_if({p} AND NOT regexp_matches({c}, $2))",
    "timestamp_between": lambda c, p, k: f"count_if({c} < TIMESTAMP '{k['min']}' OR {c} > TIMESTAMP '{k['max']}')",
    "not_in_future": lambda c, p, k: f"count_if({c} > now()::TIMESTAMP)",
    "mean": lambda c, p, k: f"avg({c}) FILTER (WHERE {p})",
    "median": lambda c, p, k: f"median({c}) FILTER (WHERE {p})",
    "stdev": lambda c, p, k: f"stddev_samp({c}) FILTER (WHERE {p})",
    "null_share": lambda c, p, k: f"count_if(NOT {p}) / count(*)",
    "distinct_count": lambda c, p, k: f"count(DISTINCT {c}) FILTER (WHERE {p})",
    "freshness": lambda c, p, k: f"epoch(now() - max({c}))",
}
# Written out at each use rather than as a CTE: DuckDB materializes a CTE used three
# times, holding every column of the table in memory, which no floor would do.
SOURCE = "(SELECT *, file_row_number AS r FROM read_parquet($1, file_row_number = true))"
_SUBQUERIES = {
    "unique": lambda c: f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) n FROM {SOURCE} WHERE {c} IS NOT NULL "
                        f"GROUP BY {c} HAVING n > 1)",
    "increasing": lambda c: f"SELECT count_if(v < prev) FROM (SELECT {c} v, lag({c}) OVER (ORDER BY r) prev "
                            f"FROM {SOURCE} WHERE {c} IS NOT NULL)",
}


def floor_sql(checks: list[dict]) -> tuple[str, list]:
    """Every check's count or statistic in one statement over the parquet file ($1)."""
    exprs = ", ".join(_floor_expr(c) for c in checks)
    patterns = [c["pattern"] for c in checks if c["expect"] == "regex"]
    sql = f"SELECT {exprs} FROM {SOURCE}"
    return sql, patterns[:1]


def run_floor(data: str, checks: list[dict]) -> dict:
    import duckdb

    sql, params = floor_sql(checks)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Parquet statistics leave NaN out and DuckDB then folds isnan(x) to false (2.0.1:
    # count_if(isnan(amount)) is 0 with NaN in the file), as mlctl's evaluate.py notes.
    con.execute("SET disabled_optimizers = 'statistics_propagation'")
    row = con.execute(sql, [data, *params]).fetchone()
    out = {}
    for check, value in zip(checks, row):
        out[check["name"]] = _floor_outcome(check, value)
    return out


def _floor_outcome(check: dict, value) -> dict:
    k, lo, hi = check["expect"], check.get("min"), check.get("max")
    if k == "column_set":
        return _outcome(value == sorted(check["columns"]))
    if k == "freshness":
        return _outcome(value <= max_age_seconds(check["max_age"]))
    if k in ("row_count", "mean", "median", "stdev", "null_share", "distinct_count"):
        ok = value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)
        return _outcome(ok, None, float(value))
    return _outcome(value == 0, value)


TOOLS = {"gx": run_gx, "pandera": run_pandera, "floor": run_floor}


def main(argv: list[str]) -> int:
    tool, data, suite_path, out = argv
    result = TOOLS[tool](data, json.loads(Path(suite_path).read_text()))
    Path(out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
