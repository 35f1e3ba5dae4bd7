"""Gate expressions, evaluation metrics, and promotion with --eval / --must-beat."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlctl.errors import UsageError
from mlctl.registry import aliases, versions
from mlctl.registry.evaluation import evaluate_model, read_frame
from mlctl.registry.api import parse_gate, promote
from mlctl.registry.api import load_model
from tests.registry.util import refs_snapshot


@pytest.mark.parametrize("text, expected", [
    ("accuracy>=0.9", ("accuracy", ">=", 0.9)),
    ("  rmse <  12.5 ", ("rmse", "<", 12.5)),
    ("val/loss<=1e-3", ("val/loss", "<=", 0.001)),
    ("r2>-0.5", ("r2", ">", -0.5)),
    ("f1 == 1", ("f1", "==", 1.0)),
    ("log_loss!=.5", ("log_loss", "!=", 0.5)),
])
def test_parse_gate(text, expected):
    gate = parse_gate(text)
    assert (gate.metric, gate.op, gate.limit) == expected


@pytest.mark.parametrize("text, column, token", [
    ("accuracy=>0.9", 9, '"=>0.9"'),
    ("accuracy>>0.9", 9, '">>0.9"'),
    ("accuracy 0.9", 10, '"0.9"'),
    ("accuracy>=high", 11, '"high"'),
    ("accuracy>=", 11, "the end"),
    (">=0.9", 1, '">=0.9"'),
    ("accuracy>=0.9 and f1>0.5", 15, '"and"'),
])
def test_parse_errors_point_at_the_token(text, column, token):
    with pytest.raises(UsageError) as err:
        parse_gate(text)
    assert f"at column {column}, found {token}" in err.value.message
    assert err.value.exit_code == 2


@given(metric=st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), op=st.sampled_from([">=", ">", "<=", "<", "==", "!="]),
       limit=st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_parse_round_trip(metric, op, limit):
    gate = parse_gate(f"{metric} {op} {limit!r}")
    assert (gate.metric, gate.op, gate.limit) == (metric, op, float(repr(limit)))


def test_gate_holds():
    gate = parse_gate("accuracy>=0.9")
    assert gate.holds(0.9) and not gate.holds(0.89)
    assert not gate.holds(float("nan")) and not gate.holds(None)


@pytest.fixture
def churn(repo, model_files, data_files):
    versions.register(repo, "churn", model_files / "weak.pkl", example=data_files / "example.csv")
    versions.register(repo, "churn", model_files / "good.pkl", example=data_files / "example.csv")
    versions.register(repo, "prices", model_files / "reg.pkl")
    return repo


def test_evaluate_classification_and_regression(churn, data_files):
    frame = read_frame(data_files / "holdout.csv")
    good = evaluate_model(load_model(churn, "churn:2"), frame, "churned")
    assert set(good) == {"accuracy", "f1", "roc_auc", "log_loss"}
    assert good["accuracy"] > 0.7 and good["roc_auc"] > 0.8
    weak = evaluate_model(load_model(churn, "churn:1"), frame, "churned")
    assert weak["accuracy"] < good["accuracy"] and math.isclose(weak["roc_auc"], 0.5)
    reg = evaluate_model(load_model(churn, "prices"), frame, "charges")
    assert set(reg) == {"rmse", "mae", "r2"} and reg["rmse"] > 0


def test_promote_with_eval_gates(churn, data_files):
    result = promote(churn, "churn:2", "production", ["accuracy>=0.7", "roc_auc>0.8"],
                     eval_data=data_files / "holdout.parquet", target="churned", reason="CI")
    assert result.promoted and result.previous is None
    assert [c["source"] for c in result.checks] == ["eval", "eval"]
    assert result.eval["rows"] == 200 and result.eval["hash"]
    entry = aliases.history(churn, "churn")[-1]
    assert entry["action"] == "promote" and entry["gates"][0]["gate"] == "accuracy>=0.7"
    assert entry["eval"]["metrics"]["accuracy"] == result.checks[0]["value"] and entry["reason"] == "CI"


def test_failed_gate_changes_nothing(churn, data_files):
    aliases.set_alias(churn, "churn", "production", 2)
    before = refs_snapshot(churn)
    result = promote(churn, "churn:1", "production", ["accuracy>=0.9"], eval_data=data_files / "holdout.csv",
                     target="churned")
    assert not result.promoted and not result.passed
    assert result.checks[0]["passed"] is False and result.checks[0]["limit"] == 0.9
    assert "failed accuracy>=0.9" in result.message
    assert refs_snapshot(churn) == before


def test_must_beat(churn, data_files):
    aliases.set_alias(churn, "churn", "production", 2)
    worse = promote(churn, "churn:1", "production", [], eval_data=data_files / "holdout.csv", target="churned",
                    must_beat="production")
    assert not worse.promoted
    assert worse.comparison[0]["metric"] == "accuracy" and worse.comparison[0]["incumbent_version"] == 2
    # first promotion: nothing to beat yet
    first = promote(churn, "churn:2", "staging", ["f1>0"], eval_data=data_files / "holdout.csv", target="churned",
                    must_beat="champion")
    assert first.promoted and first.comparison == []
    # ties pass unless --min-delta asks for an improvement
    tie = promote(churn, "churn:2", "candidate", ["roc_auc>0.5"], eval_data=data_files / "holdout.csv",
                  target="churned", must_beat="staging")
    assert tie.promoted and tie.comparison == []  # same version: nothing to compare
    aliases.set_alias(churn, "churn", "staging", 1)
    better = promote(churn, "churn:2", "production", ["roc_auc>0.5", "log_loss<5"],
                     eval_data=data_files / "holdout.csv", target="churned", must_beat="staging", min_delta=0.01)
    assert better.promoted and [c["metric"] for c in better.comparison] == ["roc_auc", "log_loss"]
    assert better.comparison[1]["higher_is_better"] is False


def test_dry_run_moves_nothing(churn, data_files):
    before = refs_snapshot(churn)
    result = promote(churn, "churn:2", "production", ["accuracy>=0.5"], eval_data=data_files / "holdout.csv",
                     target="churned", dry_run=True)
    assert result.passed and not result.promoted and "would move" in result.message
    assert refs_snapshot(churn) == before


def test_promote_bad_inputs(churn, data_files, tmp_path):
    before = refs_snapshot(churn)
    holdout = data_files / "holdout.csv"
    cases = [
        (dict(gates=["accuracy>=0.9"]), "churn:2 has no run to read 'accuracy' from"),
        (dict(gates=["accuracy=>0.9"], eval_data=holdout, target="churned"), "column 9"),
        (dict(gates=["precision>0.5"], eval_data=holdout, target="churned"), "not measured on the eval data \\(which gives accuracy, f1"),
        (dict(eval_data=holdout), "--eval needs --target"),
        (dict(target="churned"), "--target needs --eval"),
        (dict(must_beat="production"), "--must-beat needs --eval"),
        (dict(eval_data=holdout, target="label"), "no target column 'label'"),
        (dict(eval_data=tmp_path / "none.csv", target="churned"), "no such file"),
    ]
    for kwargs, message in cases:
        with pytest.raises(UsageError, match=message):
            promote(churn, "churn:2", "production", kwargs.pop("gates", []), **kwargs)
    import pandas as pd

    pd.read_csv(holdout).drop(columns=["calls", "tenure"]).to_csv(tmp_path / "partial.csv", index=False)
    with pytest.raises(UsageError, match="lacks churn:2's input columns: tenure, calls"):
        promote(churn, "churn:2", "production", [], eval_data=tmp_path / "partial.csv", target="churned")
    (tmp_path / "bad.csv").write_text('a,b\n"unclosed,1\n')
    with pytest.raises(UsageError):
        promote(churn, "churn:2", "production", [], eval_data=tmp_path / "bad.csv", target="churned")
    with pytest.raises(UsageError, match="reserved"):
        promote(churn, "churn:2", "latest", [])
    assert refs_snapshot(churn) == before


def test_model_failing_on_data_is_exit_2(churn, data_files, tmp_path):
    import pandas as pd

    frame = pd.read_csv(data_files / "holdout.csv")
    frame["charges"] = "lots"
    frame.to_csv(tmp_path / "strings.csv", index=False)
    with pytest.raises(UsageError, match="churn:2 failed on the evaluation data"):
        promote(churn, "churn:2", "production", [], eval_data=tmp_path / "strings.csv", target="churned")


def test_labels_that_are_not_the_models_classes(churn, data_files, tmp_path):
    import pandas as pd

    frame = pd.read_csv(data_files / "holdout.csv")
    frame["churned"] = (frame["churned"] == "yes").astype(int)
    frame.to_csv(tmp_path / "ints.csv", index=False)
    with pytest.raises(UsageError, match="none of which is one of the model's classes \\(no, yes\\)"):
        promote(churn, "churn:2", "production", [], eval_data=tmp_path / "ints.csv", target="churned")
