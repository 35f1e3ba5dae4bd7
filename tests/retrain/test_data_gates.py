"""retrain.yaml's `validate:`: bad new training data or a bad holdout is a recorded
rejection (exit 1) with production untouched; good data retrains as usual."""

from __future__ import annotations


import pandas as pd

from tests.retrain.conftest import TARGET, patients, shifted


TRAINING_SUITE = """\
datasets:
  data/raw:
    expectations:
      - {expect: not_null, column: mean_radius}
      - {expect: between, column: mean_radius, min: 0, max: 100, name: radius is plausible}
"""
HOLDOUT_SUITE = f"""\
datasets:
  data/holdout.csv:
    expectations:
      - {{expect: row_count, min: 100, name: holdout is large enough}}
      - {{expect: in_set, column: {TARGET}, values: [0, 1]}}
"""


def gates(project, **validate):
    project.write("checks/training.yaml", TRAINING_SUITE)
    project.write("checks/holdout.yaml", HOLDOUT_SUITE)
    project.policy(validate=validate)


def test_good_data_passes_the_gates_and_retrains(trained, cli):
    gates(trained, training=["checks/training.yaml"], holdout="checks/holdout.yaml")
    trained.set_data(pd.concat([patients(), shifted(patients(), rows=300)], ignore_index=True))
    res = cli("retrain", "cancer", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    doc = res.json()
    assert doc["outcome"] == "promoted" and trained.production() == 2
    assert [(v["gate"], v["success"]) for v in doc["validation"]] == [("training", True), ("holdout", True)]
    assert trained.history()[-1]["retrain"]["validation"][0]["suite"] == "checks/training.yaml"


def test_bad_training_data_is_rejected_before_the_pipeline_runs(trained, cli):
    gates(trained, training="checks/training.yaml")
    bad = patients()
    bad.loc[:9, "mean_radius"] = None
    bad.loc[10:19, "mean_radius"] = 1e6
    trained.set_data(bad)
    res = cli("retrain", "cancer", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["outcome"] == "rejected" and doc["pipeline"] is None  # nothing trained
    assert doc["message"].startswith("rejected: data validation of the training data failed (checks/training.yaml: "
                                     "data/raw: not_null(mean_radius), radius is plausible)")
    assert doc["message"].endswith("production stays cancer:1")
    assert doc["validation"][0]["failed"] == {"data/raw": ["not_null(mean_radius)", "radius is plausible"]}
    assert trained.production() == 1 and trained.versions() == [1]
    assert trained.history()[-1]["action"] == "retrain-reject"


def test_a_bad_holdout_is_rejected_before_a_candidate_is_registered(trained, cli):
    gates(trained, holdout=["checks/holdout.yaml"])
    trained.set_data(patients().head(200))  # a 30% holdout of 200 rows: 60, under the 100 asked for
    res = cli("retrain", "cancer", "--force", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["outcome"] == "rejected" and doc["candidate"] is None
    assert "data validation of the holdout data failed (checks/holdout.yaml: data/holdout.csv: holdout is large " \
           "enough)" in doc["message"]
    assert trained.production() == 1 and trained.versions() == [1]


def test_validate_keys_are_checked(project, cli):
    project.policy(validate={"train": ["checks/training.yaml"]})
    res = cli("retrain", "cancer")
    assert res.exit_code == 2 and "retrain.yaml: validate.train: unknown key" in res.stderr
    project.policy(validate={"holdout": ["../outside.yaml"]})
    res = cli("retrain", "cancer")
    assert res.exit_code == 2 and "retrain.yaml: validate.holdout[0]: expected a path inside the repository" in res.stderr
