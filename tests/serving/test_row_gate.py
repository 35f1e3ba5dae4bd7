"""`mlctl serve --validate SUITE[:DATASET]`: row-level `error` expectations refuse a request
with a 400 naming the expectation, the column and the row; everything else is not checked
per request."""

from __future__ import annotations

import subprocess

import pytest

from mlctl.serving.row_gate import RowGate
from mlctl.validation.suite import parse as parse_suite
from tests.serving.conftest import free_port, mlctl_cmd, mlctl_env, row

SUITE = """\
datasets:
  data/train.csv:
    expectations:
      - {expect: not_null, column: age}
      - {expect: between, column: age, min: 18, max: 120, name: adult age}
      - {expect: between, column: income, min: 0, strict_min: true}
      - {expect: in_set, column: tenure, values: [1.5, 2, 3, 4]}
      - {expect: between, column: tenure, max: 2, severity: warn}
      - {expect: mean, column: age, min: 1000}
      - {expect: not_null, column: churned}
"""


def write_suite(repo, text=SUITE, name="checks.yaml"):
    (repo.root / name).write_text(text)
    return name


def test_rows_breaking_an_error_expectation_are_refused_with_a_400(serve, churn, repo):
    server = serve("churn@production", "--validate", write_suite(repo))
    assert server.post(json={"instances": [row(age=40, tenure=2)]}).status_code == 200
    res = server.post(json={"instances": [row(age=40), row(age=12)]})
    assert res.status_code == 400
    body = res.json()
    assert body["column"] == "age"
    assert body["error"] == "row 1: column 'age' fails expectation 'adult age' (checks.yaml:data/train.csv): got 12"
    res = server.post(json={"instances": [row(income=0.0)]})  # strict_min: 0 is out
    assert res.status_code == 400 and res.json()["column"] == "income"
    res = server.post("/invocations", json={"dataframe_split": {"columns": ["age", "income", "tenure"],
                                                                "data": [[30, 1.0, 7.0]]}})
    assert res.status_code == 400 and "in_set(tenure)" in res.json()["message"]  # MLflow's error shape
    meta = server.client.get("/metadata").json()["validate"]
    # the warn bound, the statistic and the column the model does not take are not checked
    assert meta == {"suite": "checks.yaml:data/train.csv", "checked": ["not_null(age)", "adult age",
                                                                       "between(income)", "in_set(tenure)"],
                    "not_checked": 3}


def test_a_suite_that_checks_nothing_or_is_ambiguous_is_refused_at_startup(churn, repo):
    write_suite(repo, "datasets:\n  a.csv:\n    expectations:\n      - {expect: row_count, min: 1}\n", "stats.yaml")
    write_suite(repo, SUITE + "  other.csv:\n    expectations:\n      - {expect: not_null, column: age}\n", "two.yaml")
    for spec, words in (("stats.yaml", "no row-level `error` expectation of a.csv is about an input column"),
                        ("two.yaml", "the suite has 2 datasets; name one"),
                        ("two.yaml:nope.csv", "no expectations for 'nope.csv'"),
                        ("missing.yaml", "missing.yaml")):
        proc = subprocess.run(mlctl_cmd("serve", "churn@production", "--validate", spec, "--port", free_port()),
                              cwd=repo.root, env=mlctl_env(), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (spec, proc.stderr)
        assert proc.stderr.startswith("mlctl: error: ") and words in proc.stderr, (spec, proc.stderr)


@pytest.mark.parametrize("kind, params, good, bad", [
    ("not_null", {}, [1, "x", 0.0], [None, float("nan")]),
    ("between", {"min": 0, "max": 10}, [0, 10, 5.5, None], [-1, 10.5, "5", True]),
    ("in_set", {"values": ["a", 1, True]}, ["a", 1, 1.0, True, None], ["b", 2, False]),
    ("not_in_set", {"values": ["a", 1]}, ["b", 2, None], ["a", 1]),
    ("regex", {"pattern": "^[A-Z]{2}$"}, ["DE", None], ["de", "DEU", 12]),
    ("length_between", {"min": 2, "max": 3}, ["ab", "abc", None], ["a", "abcd", 12]),
])
def test_each_per_request_check_follows_data_validate_rules(kind, params, good, bad):
    body = ", ".join(f"{k}: {v!r}" if not isinstance(v, list) else f"{k}: {v!r}" for k, v in params.items())
    text = "datasets:\n  d.csv:\n    expectations:\n      - {expect: " + kind + ", column: x" + \
           (", " + body.replace("'", '"').replace("True", "true") if body else "") + "}\n"
    suite = parse_suite(__import__("yaml").safe_load(text), "s.yaml")
    gate = RowGate("s.yaml:d.csv", suite.datasets[0].expectations, ["x"])
    gate.check([[v] for v in good])
    for value in bad:
        with pytest.raises(Exception) as refused:
            gate.check([[None if kind != "not_null" else 1], [value]])
        assert refused.value.column == "x" and refused.value.message.startswith("row 1: column 'x'")
