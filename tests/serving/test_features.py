"""--features: rows completed from the online store by their entity key."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from tests.serving.conftest import COLUMNS, mlctl_cmd, mlctl_env, register
from tests.serving.toy_models import Fussy

FEATURES_YAML = """
entities:
  customer: {join_key: customer_id}
sources:
  customer_stats:
    path: data/customer_stats.parquet
    timestamp: ts
feature_views:
  customer_profile:
    entity: customer
    source: customer_stats
    ttl: 3650d
    features: [income, tenure]
"""


@pytest.fixture
def feature_repo(repo):
    (repo.root / "features.yaml").write_text(FEATURES_YAML)
    (repo.root / "data").mkdir()
    now = pd.Timestamp.now(tz="UTC").floor("s")
    pd.DataFrame({"customer_id": [1, 1, 2], "ts": [now - pd.Timedelta("2h"), now - pd.Timedelta("1h"), now - pd.Timedelta("1h")],
                  "income": [1.0, 4.0, 7.5], "tenure": [1.0, 2.0, 3.0]}).to_parquet(repo.root / "data" / "customer_stats.parquet")
    register(repo, "fussy", Fussy(COLUMNS), alias="production")
    return repo


def materialize(repo):
    from mlctl.features.materialize import materialize as run

    run(repo)


def test_rows_are_completed_from_the_online_store(serve, feature_repo):
    materialize(feature_repo)
    server = serve("fussy", "--features", "customer_profile:income,customer_profile:tenure", "--log-predictions")
    res = server.post(json={"instances": [{"customer_id": 1, "age": 30}, {"customer_id": 2, "age": 40}]})
    assert res.status_code == 200, res.text
    assert res.json()["predictions"] == [8.0, 15.0]  # Fussy predicts 2 x income: the latest value
    res = server.post("/invocations", json={"dataframe_split": {"columns": ["age", "customer_id"], "data": [[5, 2]]}})
    assert res.json() == {"predictions": [15.0]}
    meta = server.client.get("/metadata").json()
    assert meta["features"]["features"] == ["income", "tenure"] and meta["features"]["entity_keys"] == ["customer_id"]
    unknown = server.post(json={"instances": [{"customer_id": 99, "age": 30}]})
    # no value in the store: a null where the signature allows none (the example had no gaps,
    # and the toy model is not known to take NaN) is a 400 naming it, not NaN into the model
    assert unknown.status_code == 400 and unknown.json()["column"] == "income"
    assert "column 'income' is null" in unknown.json()["error"]
    server.stop()
    from mlctl.predlog.api import read_predictions

    log = read_predictions(feature_repo, "fussy")
    assert sorted(log["income"].dropna()) == [4.0, 7.5, 7.5]  # the fetched values are what was logged


@pytest.mark.parametrize("payload, words, column", [
    ({"instances": [{"age": 30}]}, "missing entity key 'customer_id'", "customer_id"),
    ({"instances": [{"customer_id": 1, "age": 30, "income": 5.0}]}, "column 'income' comes from the feature store", "income"),
    ({"instances": [{"customer_id": 1, "age": 30, "zip": 5}]}, "unknown column 'zip'", "zip"),
    ({"instances": [{"customer_id": 1}]}, "missing column 'age'", "age"),
    ({"instances": [[1, 30]]}, "each row must be an object", None),
])
def test_bad_rows_with_features(serve, feature_repo, payload, words, column):
    materialize(feature_repo)
    server = serve("fussy", "--features", "customer_profile:*")
    res = server.post(json=payload)
    assert res.status_code == 400 and words in res.json()["error"]
    assert res.json().get("column") == column


def test_features_must_be_materialized_and_be_model_inputs(feature_repo):
    def run(*args):
        return subprocess.run(mlctl_cmd("serve", "fussy", *args), cwd=feature_repo.root, env=mlctl_env(),
                              capture_output=True, text=True, timeout=60)
    proc = run("--features", "customer_profile:income")
    assert proc.returncode == 2 and "has not been materialized" in proc.stderr.splitlines()[0]
    materialize(feature_repo)
    proc = run("--features", "customer_profile:nope")
    assert proc.returncode == 2 and "has no feature 'nope'" in proc.stderr.splitlines()[0]
    register(feature_repo, "narrow", Fussy(["age", "income"]), example=pd.DataFrame({"age": [1], "income": [1.0]}))
    proc = subprocess.run(mlctl_cmd("serve", "narrow", "--features", "customer_profile:*"), cwd=feature_repo.root,
                          env=mlctl_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "mlctl: error: feature(s) tenure are not inputs of the model (it takes age, income)"
