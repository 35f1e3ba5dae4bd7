"""`mlctl data validate TARGET --from-gx suite.json`: a GX suite (1.x or 0.x) becomes TARGET's
expectations; what has no counterpart is listed, never guessed; the result validates."""

from __future__ import annotations

import json

import pytest
import yaml

from mlctl.validation.from_gx import CONVERTERS, convert

GX1 = {"name": "orders", "expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "price", "min_value": 0, "max_value": 100,
                                                              "mostly": 0.9}, "meta": {"notes": "price is sane"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "country", "value_set": ["DE", "FR"]},
     "severity": "warning"},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "country", "regex": "^[A-Z]{2}$"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 2}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "price", "country", "discount"],
                                                             "exact_match": True}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "price", "min_value": 1, "max_value": 50}},
    {"type": "expect_column_quantile_values_to_be_between",
     "kwargs": {"column": "price", "quantile_ranges": {"quantiles": [0.5, 0.9], "value_ranges": [[1, 30], [None, 90]]}}},
    {"type": "expect_column_pair_values_a_to_be_greater_than_b",
     "kwargs": {"column_A": "price", "column_B": "discount", "or_equal": True}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "id", "type_": "int64"}},
    {"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "price"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "price"}},
]}
ORDERS = "id,price,country,discount\n1,10,DE,1\n2,20,FR,0\n3,30,DE,5\n"


def test_each_supported_type_converts_and_the_rest_is_listed_with_why():
    converted, skipped = convert(GX1)
    assert converted[2] == {"expect": "between", "column": "price", "min": 0, "max": 100, "mostly": 0.9,
                            "name": "price is sane"}
    assert converted[3] == {"expect": "in_set", "column": "country", "values": ["DE", "FR"], "severity": "warn"}
    assert [c for c in converted if c["expect"] == "quantile"] == [
        {"expect": "quantile", "column": "price", "q": 0.5, "min": 1, "max": 30},
        {"expect": "quantile", "column": "price", "q": 0.9, "max": 90}]
    assert {"expect": "condition", "condition": '"price" >= "discount"'} in converted
    assert {"expect": "type", "column": "id", "type": "integer"} in converted
    assert skipped == [{"type": "expect_column_kl_divergence_to_be_less_than", "why": "no counterpart in mlctl"},
                       {"type": "expect_column_values_to_be_between",
                        "why": "cannot convert its kwargs (neither min_value nor max_value is set)"}]


def test_a_gx_0x_suite_reads_the_same():
    old = {"expectation_suite_name": "orders", "expectations": [
        {"expectation_type": e["type"], "kwargs": e["kwargs"], "meta": e.get("meta", {})} for e in GX1["expectations"]]}
    assert [c["expect"] for c in convert(old)[0]] == [c["expect"] for c in convert(GX1)[0]]


def test_the_converted_suite_is_written_and_validates(cli, repo):
    (repo.root / "orders.csv").write_text(ORDERS)
    (repo.root / "gx.json").write_text(json.dumps(GX1))
    res = cli("data", "validate", "orders.csv", "--from-gx", "gx.json", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert doc["created"] is True and len(doc["expectations"]) == 12 and len(doc["skipped"]) == 2
    suite = yaml.safe_load((repo.root / "expectations.yaml").read_text())
    assert len(suite["datasets"]["orders.csv"]["expectations"]) == 12
    checked = cli("data", "validate", "orders.csv", "--json")
    assert checked.exit_code == 0, checked.stdout
    assert checked.json()["passed"] == 12
    again = cli("data", "validate", "orders.csv", "--from-gx", "gx.json")
    assert again.exit_code == 2 and "already has expectations for 'orders.csv'" in again.stderr


def test_text_output_names_what_was_left_out(cli, repo):
    (repo.root / "gx.json").write_text(json.dumps(GX1))
    res = cli("data", "validate", "orders.csv", "--from-gx", "gx.json")
    assert res.exit_code == 0
    assert "expect_column_kl_divergence_to_be_less_than: no counterpart in mlctl" in res.stderr
    assert "12 expectations for orders.csv from gx.json created expectations.yaml" in res.stderr


@pytest.mark.parametrize("content, words", [
    ("not json", "gx.json is not a GX suite (JSON)"),
    ('{"name": "x"}', "it has no `expectations` list"),
    ('{"expectations": [{"type": "expect_nothing_we_know"}]}', "none of its 1 expectations converts"),
])
def test_bad_gx_files_are_one_line(cli, repo, content, words):
    (repo.root / "gx.json").write_text(content)
    res = cli("data", "validate", "orders.csv", "--from-gx", "gx.json")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: ") and words in res.stderr
    assert not (repo.root / "expectations.yaml").exists()


def test_from_gx_needs_a_target_and_goes_alone(cli, repo):
    assert "--from-gx needs a TARGET" in cli("data", "validate", "--from-gx", "gx.json").stderr
    res = cli("data", "validate", "x.csv", "--from-gx", "gx.json", "--suggest")
    assert res.exit_code == 2 and "one of --suggest and --from-gx" in res.stderr


def test_the_docs_list_every_supported_gx_type():
    from tests.conftest import PROJECT

    text = (PROJECT / "docs" / "validation.md").read_text()
    assert [t for t in CONVERTERS if f"`expect_{t}`" not in text] == []
