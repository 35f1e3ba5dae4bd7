"""A/B figures: the prediction log joined to late labels, per version and role."""

from __future__ import annotations

import pandas as pd
import pytest

from mlctl.errors import UsageError
from mlctl.serving.abtest import compare_versions
from mlctl.predlog.api import PredictionLogWriter


def log(repo, rows):
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append([{"request_id": rid, "version": v, "role": role, "prediction": p, "inputs": {"x": 1}}
                       for rid, v, role, p in rows])


def test_canary_and_primary_are_scored_on_their_own_traffic(repo, tmp_path):
    log(repo, [("a", 1, "primary", 1), ("b", 1, "primary", 0), ("c", 2, "canary", 1), ("d", 1, "primary", 1),
               ("a", 2, "shadow", 0), ("e", 2, "canary", 0)])
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ["a", "b", "c", "e"], "churned": [1, 1, 1, 0]}).to_csv(labels, index=False)
    result = compare_versions(repo, "churn", labels, "churned")
    assert result["task"] == "classification" and result["labelled"] == 5 and result["unlabelled"] == 1
    by = {(g["version"], g["role"]): g for g in result["versions"]}
    assert by[(1, "primary")] == {"version": 1, "role": "primary", "rows": 3, "labelled": 2, "metrics": {"accuracy": 0.5}}
    assert by[(2, "canary")]["metrics"] == {"accuracy": 1.0}
    assert by[(2, "shadow")]["metrics"] == {"accuracy": 0.0}


def test_regression_and_per_instance_labels(repo):
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append([{"request_id": "r", "version": 1, "instance": i, "prediction": float(i), "inputs": {"x": i}}
                       for i in range(3)])
    labels = pd.DataFrame({"request_id": ["r", "r", "r"], "instance": [0, 1, 2], "y": [0.5, 1.0, 4.0]})
    [group] = compare_versions(repo, "churn", labels, "y")["versions"]
    assert group["metrics"] == pytest.approx({"mae": (0.5 + 0 + 2) / 3, "rmse": ((0.25 + 0 + 4) / 3) ** 0.5})


def test_bad_labels(repo, tmp_path):
    log(repo, [("a", 1, "primary", 1)])
    with pytest.raises(UsageError, match="no column 'churned'"):
        compare_versions(repo, "churn", pd.DataFrame({"request_id": ["a"]}), "churned")
    with pytest.raises(UsageError, match="repeat a request_id"):
        compare_versions(repo, "churn", pd.DataFrame({"request_id": ["a", "a"], "y": [1, 0]}), "y")
    with pytest.raises(UsageError, match="no such labels file"):
        compare_versions(repo, "churn", tmp_path / "nope.csv", "y")
