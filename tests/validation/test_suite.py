"""The suite parser: every mistake a UsageError naming it; conditions parsed safely."""

from __future__ import annotations

import pytest

from mlctl.errors import UsageError
from mlctl.validation import condition, suite


def parse_one(item: dict):
    return suite.parse({"datasets": {"data.csv": {"expectations": [item]}}}).datasets[0].expectations[0]


def refused(document, *needles: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        suite.parse(document)
    text = caught.value.message + " " + (caught.value.hint or "")
    for needle in needles:
        assert needle in text, text
    return caught.value


def one(item) -> dict:
    return {"datasets": {"data.csv": {"expectations": [item]}}}


def test_every_kind_parses_with_defaults():
    e = parse_one({"expect": "not_null", "column": "age"})
    assert (e.kind, e.name, e.severity, e.mostly, e.level) == ("not_null", "not_null(age)", "error", 1.0, "column")
    e = parse_one({"expect": "condition", "condition": "price >= discount", "name": "no loss", "severity": "warn"})
    assert (e.name, e.severity, e.columns, e.level) == ("no loss", "warn", ["price", "discount"], "table")


@pytest.mark.parametrize("item, needles", [
    ({"expect": ["not_null"], "column": "a"}, ("expectations[0].expect: expected an expectation type",)),
    ({"expect": "not_nul", "column": "a"}, ("expectations[0].expect: expected an expectation type (see docs/validation.md), got "
        "'not_nul'", "did you mean 'not_null'")),
    ({"expect": "between", "column": "a", "minimum": 1}, ("expectations.yaml: datasets.data.csv.expectations[0].minimum: unknown "
        "key, expected one of column, expect, max, min, mostly",)),
    ({"expect": "between", "column": "a", "mn": 1}, ("expectations[0].mn: unknown key", "did you mean 'min'")),
    ({"expect": "mean", "column": "a", "min": 1, "mostly": 0.9}, ("expectations[0].mostly: unknown key",)),
    ({"expect": "between", "column": "a"}, ("give 'min', 'max' or both",)),
    ({"expect": "between", "column": "a", "min": 3, "max": 1}, ("min 3 is above max 1",)),
    ({"expect": "between", "column": "a", "min": "low"}, ("expectations[0].min: expected a number, got 'low'",)),
    ({"expect": "in_set", "values": [1]}, ("expectations[0].column: expected a column name, got nothing",)),
    ({"expect": "not_null", "column": "a", "severity": "fatal"}, ("expectations[0].severity: expected one of error, warn, got 'fatal'",)),
    ({"expect": "not_null", "column": "a", "mostly": 1.5}, ("expectations[0].mostly: expected a number in [0, 1], got 1.5",)),
    ({"expect": "type", "column": "a", "type": "integr"}, ("expectations[0].type: expected one of integer, float, number, string, "
        "boolean, timestamp, date, got 'integr'", "did you mean 'integer'")),
    ({"expect": "freshness", "column": "t", "max_age": "soon"}, ("expectations[0].max_age: expected a duration like 30m, 12h, 1d "
        "or 2w, got 'soon'",)),
    ({"expect": "timestamp_between", "column": "t", "min": "yesterday-ish"}, ("expectations[0].min: expected an ISO 8601 time, "
        "now or -1d, got 'yesterday-ish'",)),
    ({"expect": "quantile", "column": "a", "q": 2, "max": 1}, ("expectations[0].q: expected a number in [0, 1], got 2",)),
    ({"expect": "unique_together", "columns": ["a", "a"]}, ("expectations[0].columns: expected a non-empty list of distinct "
        "column names",)),
    ({"expect": "condition", "condition": "price >= discount; DROP TABLE t"}, ("cannot read",)),
    ({"expect": "condition", "condition": "price >= 'x'"}, ("cannot read",)),
    ({"expect": "condition", "condition": "price"}, ("comparison operator",)),
    ({"expect": "condition", "condition": "1 > 0"}, ("names no column",)),
    ({"expect": "condition", "condition": "a > b and b > c or c > d"}, ("mixes 'and' and 'or'",)),
])
def test_bad_expectations_are_refused_naming_the_mistake(item, needles):
    refused(one(item), *needles)


def test_bad_documents_are_refused():
    refused([], "expectations.yaml: expected a map with a 'datasets' key, got []")
    refused({"dataset": {}}, "expectations.yaml: dataset: unknown key", "did you mean 'datasets'")
    refused({"datasets": {"a.csv": [{"expect": "not_null"}]}}, "datasets.a.csv: expected a map with an 'expectations' list")
    refused({"datasets": {"a.csv": {"expectations": []}}}, "datasets.a.csv.expectations: expected a non-empty list of expectations, got []")
    refused({"datasets": {"a.csv": {"expectations": [{"expect": "exists", "column": "a"},
                                                      {"expect": "exists", "column": "a"}]}}},
            "datasets.a.csv: two expectations are named 'exists(a)'")


def test_load_refuses_bad_yaml_and_a_missing_file(tmp_path):
    with pytest.raises(UsageError, match="nope.yaml: no such file"):
        suite.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [unclosed\n")
    with pytest.raises(UsageError, match="bad.yaml: not valid YAML at line 2, column 1"):
        suite.load(bad)


def test_conditions_render_quoted_columns_and_reprinted_numbers():
    tree = condition.parse('price >= discount and ("unit price" < 1e3 or qty != -2)')
    assert condition.columns(tree) == ["price", "discount", "unit price", "qty"]
    assert condition.to_sql(tree) == '(("price" >= "discount") AND (("unit price" < 1000.0) OR ("qty" <> -2)))'


def test_a_quoted_column_cannot_break_out_of_its_quotes():
    tree = condition.parse('"a"" OR 1=1 --" > 0')
    assert condition.columns(tree) == ['a" OR 1=1 --']
    assert condition.to_sql(tree) == '("a"" OR 1=1 --" > 0)'
