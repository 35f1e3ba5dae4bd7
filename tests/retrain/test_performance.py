"""`mlctl monitor performance`: late labels joined to the prediction log, per version."""

from __future__ import annotations


import pandas as pd
import pytest

from mlctl.predlog.api import PredictionLogWriter
from tests.factories import make_model, register_model
from tests.retrain.conftest import FEATURES, TARGET, patients



@pytest.fixture
def models(project):
    """cancer:1 and cancer:2 (real logistic regressions), registered, 1 at production."""
    from mlctl.registry.aliases import set_alias

    frame = patients()
    for c in (1.0, 0.01):
        model = make_model(frame[FEATURES], frame[TARGET], C=c, max_iter=2000)
        register_model(project.repo, "cancer", model, frame.head(20), target=TARGET)
    set_alias(project.repo, "cancer", "production", 1, action="promote",
              extra={"eval": {"data": "h.csv", "metrics": {"accuracy": 0.93}}})
    return project


def log(project, rows: list[tuple], model: str = "cancer") -> None:
    """rows: (request_id, version, role, prediction[, instance])."""
    frame = patients()
    with PredictionLogWriter(project.repo, model) as writer:
        writer.append([{"request_id": r[0], "version": r[1], "role": r[2], "prediction": r[3],
                        "instance": r[4] if len(r) > 4 else 0,
                        "inputs": frame[FEATURES].iloc[i % len(frame)].to_dict()} for i, r in enumerate(rows)])


def labels(project, pairs, name="labels.csv", **extra) -> str:
    frame = pd.DataFrame({"request_id": [p[0] for p in pairs], TARGET: [p[1] for p in pairs], **extra})
    path = project.root / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return str(path)


def scenario(project, right: int, wrong: int, version: int = 1, role: str = "primary", start: int = 0):
    """Predictions of ``version`` where ``right`` match their labels and ``wrong`` do not."""
    rows, truth = [], []
    for i in range(right + wrong):
        rid = f"r{start + i}"
        rows.append((rid, version, role, 1))
        truth.append((rid, 1 if i < right else 0))
    log(project, rows)
    return truth


def test_live_accuracy_per_version_against_validation(models, cli):
    truth = scenario(models, right=45, wrong=5)
    truth += scenario(models, right=6, wrong=4, version=2, role="canary", start=100)
    res = cli("monitor", "performance", "cancer", "--labels", labels(models, truth), "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    by_version = {(v["version"], v["role"]): v for v in doc["versions"]}
    v1, v2 = by_version[(1, "primary")], by_version[(2, "canary")]
    assert v1["labelled"] == 50 and v1["live"] == pytest.approx(0.9) and v1["aliases"] == ["production"]
    assert v1["validation"] == 0.93 and v1["validation_source"] == "holdout promote #1"
    assert v1["delta"] == pytest.approx(-0.03)
    assert v2["live"] == pytest.approx(0.6) and v2["labelled"] == 10
    assert doc["production"] == {"version": 1, "spec": "cancer:1", "labelled": 50, "live": pytest.approx(0.9),
                                 "floor": {"metric": "accuracy", "bound": 0.8, "text": "accuracy >= 0.8",
                                           "min_rows": 20}, "status": "ok"}
    assert doc["labels"]["matched"] == 60 and doc["degraded"] is False and doc["rollback"] is None
    text = cli("monitor", "performance", "cancer", "--labels", labels(models, truth))
    assert "60 of 60 labels matched predictions of cancer" in text.stdout
    assert "production cancer:1: live accuracy 0.9 on 50 labelled: ok (floor accuracy >= 0.8)" in text.stdout


def test_degraded_production_is_exit_1_and_rolled_back_when_asked(models, cli):
    from mlctl.registry.aliases import set_alias

    set_alias(models.repo, "cancer", "production", 2)
    truth = scenario(models, right=10, wrong=20, version=2)
    path = labels(models, truth)
    res = cli("monitor", "performance", "cancer", "--labels", path)
    assert res.exit_code == 1
    assert "production cancer:2: live accuracy 0.333333 on 30 labelled: BELOW the floor (accuracy >= 0.8)" in res.stdout
    assert models.production() == 2  # only reported
    res = cli("monitor", "performance", "cancer", "--labels", path, "--rollback-on-degrade", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["rollback"]["done"] and (doc["rollback"]["from"], doc["rollback"]["to"]) == (2, 1)
    assert models.production() == 1
    entry = models.history()[-1]
    assert entry["action"] == "rollback" and entry["from"] == 2 and entry["to"] == 1
    assert entry["reason"].startswith("monitor performance: live accuracy 0.3333 below the floor")
    assert entry["performance"]["labelled"] == 30
    # production is v1 now, which has no labelled predictions: nothing more to do
    again = cli("monitor", "performance", "cancer", "--labels", path, "--rollback-on-degrade", "--json")
    assert again.exit_code == 0 and again.json()["production"]["status"] == "no-labels"
    assert models.production() == 1


def test_too_few_labels_to_judge(models, cli):
    truth = scenario(models, right=1, wrong=9)
    res = cli("monitor", "performance", "cancer", "--labels", labels(models, truth), "--rollback-on-degrade")
    assert res.exit_code == 0
    assert "too few to judge (performance_floor.min_rows is 20)" in res.stdout
    assert models.production() == 1


def test_shadow_rows_are_reported_but_do_not_judge_production(models, cli):
    truth = scenario(models, right=25, wrong=0)
    log(models, [(rid, 2, "shadow", 0) for rid, _ in truth])
    doc = cli("monitor", "performance", "cancer", "--labels", labels(models, truth), "--json").json()
    shadow = next(v for v in doc["versions"] if v["role"] == "shadow")
    assert shadow["version"] == 2 and shadow["live"] == 0.0
    assert doc["production"]["live"] == 1.0 and doc["labels"]["matched"] == 25


def test_multi_row_requests_need_an_instance_column(models, cli):
    log(models, [("a", 1, "primary", 1, 0), ("a", 1, "primary", 0, 1), ("b", 1, "primary", 1, 0)])
    res = cli("monitor", "performance", "cancer", "--labels", labels(models, [("a", 1), ("b", 1)]), "--json")
    assert res.exit_code == 0
    doc = res.json()
    assert doc["labels"]["ambiguous"] == 1 and doc["labels"]["matched"] == 1
    path = labels(models, [("a", 1), ("a", 1), ("b", 1)], name="l.parquet", instance=[0, 1, 0])
    doc = cli("monitor", "performance", "cancer", "--labels", path, "--json").json()
    assert doc["labels"]["matched"] == 3 and doc["production"]["live"] == pytest.approx(2 / 3)


def test_target_from_the_flag_without_a_policy(models, cli):
    (models.root / "retrain.yaml").unlink()
    truth = scenario(models, right=3, wrong=1)
    path = labels(models, truth)
    res = cli("monitor", "performance", "cancer", "--labels", path)
    assert res.exit_code == 2 and "which column of the labels is the target?" in res.stderr
    res = cli("monitor", "performance", "cancer", "--labels", path, "--target", TARGET, "--json")
    assert res.exit_code == 0 and res.json()["production"]["status"] == "no-floor"
    res = cli("monitor", "performance", "cancer", "--labels", path, "--target", TARGET, "--rollback-on-degrade")
    assert res.exit_code == 2 and "--rollback-on-degrade needs a performance_floor" in res.stderr


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("request_id,other\nr0,1\n", "no column 'malignant'"),
    ("id,malignant\nr0,1\n", "no column 'request_id'"),
    ("request_id,malignant\nr0,1\nr0,0\n", "request r0 is labelled more than once"),
    ("request_id,malignant\nzz,1\n", "none of the 1 labels in"),
    ("request_id,malignant,instance\nr0,1,first\n", "column 'instance' must hold whole numbers"),
])
def test_bad_labels_are_exit_2(models, cli, content, message):
    scenario(models, right=2, wrong=0)
    path = models.root / "bad.csv"
    if content is not None:
        path.write_text(content)
    res = cli("monitor", "performance", "cancer", "--labels", str(path))
    assert res.exit_code == 2, res.stdout
    assert res.stderr.startswith("mlctl: error: ") and message in res.stderr and "Traceback" not in res.stderr


def test_unknown_model_and_no_log(models, cli):
    path = labels(models, [("r0", 1)])
    res = cli("monitor", "performance", "cancer", "--labels", path)
    assert res.exit_code == 2 and "no prediction log for model 'cancer'" in res.stderr
    res = cli("monitor", "performance", "nosuch", "--labels", path, "--target", TARGET)
    assert res.exit_code == 2
