"""retrain.yaml validation: every problem is exit 2 naming the file, the key and what is wrong."""

from __future__ import annotations

import pytest
import yaml

from mlctl.retrain.policy import PolicyError, parse_policy
from tests.retrain.conftest import POLICY


@pytest.fixture(params=["local"])
def backend(request) -> str:
    """Local only: a policy is parsed and checked against the project before anything reads the backend; the rest run on both."""
    return request.param


def with_changes(**changes):
    data = {**POLICY, **changes}
    return {k: v for k, v in data.items() if v is not None}


def test_the_documented_example_parses():
    policy = parse_policy(yaml.safe_load("""
model: churn
triggers: {drift: true, new_data: true}
drift:
  reference: auto
  current: predictions:churn
  method: auto
  drift_share: 0.5
  since: 7d
pipeline:
  stages: [train]
  model_output: model.pkl
evaluate:
  data: data/holdout.parquet
  target: churned
gates: ["accuracy>=0.85"]
min_improvement: {metric: accuracy, delta: 0.01}
cooldown: 1d
max_versions_kept: 10
performance_floor: {metric: accuracy, min: 0.8}
"""))
    assert policy.model == "churn" and policy.stages == ("train",) and policy.cooldown_s == 86400
    assert policy.gates[0].metric == "accuracy" and policy.min_improvement.delta == 0.01
    assert policy.performance_floor.breached(0.79) and not policy.performance_floor.breached(0.8)
    assert policy.drift.since == "7d" and policy.drift.current == "predictions:churn"


def test_minimal_policy_gets_defaults():
    policy = parse_policy({"model": "m", "pipeline": {"stages": "train", "model_output": "./model.pkl"},
                           "evaluate": {"data": "h.csv", "target": "y"}})
    assert policy.trigger_drift and policy.trigger_new_data
    assert policy.drift.current == "predictions:m" and policy.drift.reference == "auto"
    assert policy.model_output == "model.pkl" and policy.gates == () and policy.cooldown_s == 0
    assert policy.min_improvement.metric is None and policy.max_versions_kept is None


@pytest.mark.parametrize("changes, message", [
    ({"model": None}, "retrain.yaml: model: expected a non-empty string, got nothing"),
    ({"model": "bad name!"}, "retrain.yaml: model: expected a model name, got 'bad name!' (invalid model name"),
    ({"colldown": "1d"}, "retrain.yaml: colldown: unknown key, expected one of model, triggers,"),
    ({"triggers": {"drift": "yes"}}, "retrain.yaml: triggers.drift: expected true or false, got 'yes'"),
    ({"triggers": {"new_data": True, "schedule": 1}}, "retrain.yaml: triggers.schedule: unknown key"),
    ({"triggers": [1]}, "retrain.yaml: triggers: expected a map, got [1]"),
    ({"drift": {"drift_share": 1.5}}, "retrain.yaml: drift.drift_share: expected a number in (0, 1], got 1.5"),
    ({"drift": {"drift_share": "half"}}, "retrain.yaml: drift.drift_share: expected a number in (0, 1], got 'half'"),
    ({"drift": {"method": "kl"}}, "retrain.yaml: drift.method: expected one of auto, ks, chi2, psi, wasserstein, jensenshannon, got 'kl'"),
    ({"drift": {"threshold": 0.1}}, "retrain.yaml: drift.threshold: needs a single drift.method"),
    ({"drift": {"since": "a week"}}, "retrain.yaml: drift.since: expected a duration"),
    ({"drift": {"current": "data/cur.csv", "since": "7d"}}, "retrain.yaml: drift.since: applies only when"),
    ({"drift": {"current": "predictions:"}}, "retrain.yaml: drift.current: expected predictions:MODEL"),
    ({"drift": {"columns": "a,b"}}, "retrain.yaml: drift.columns: expected a non-empty list of column names, got 'a,b'"),
    ({"pipeline": None}, "retrain.yaml: pipeline: expected a map, got nothing"),
    ({"pipeline": {"stages": [], "model_output": "m.pkl"}}, "retrain.yaml: pipeline.stages: expected a non-empty list of stage "
        "names, got []"),
    ({"pipeline": {"stages": ["train", 3], "model_output": "m.pkl"}}, "retrain.yaml: pipeline.stages[1]: expected a stage name, got 3"),
    ({"pipeline": {"stages": ["train"]}}, "retrain.yaml: pipeline.model_output: expected a non-empty string, got nothing"),
    ({"pipeline": {"stages": ["train"], "model_output": "../m.pkl"}}, "retrain.yaml: pipeline.model_output: expected a path "
        "inside the repository, relative to its root, got '../m.pkl'"),
    ({"pipeline": {"stages": ["train"], "model_output": "/tmp/m.pkl"}}, "retrain.yaml: pipeline.model_output: expected a path "
        "inside the repository, relative to its root, got '/tmp/m.pkl'"),
    ({"evaluate": {"data": "h.csv"}}, "retrain.yaml: evaluate.target: expected a non-empty string, got nothing"),
    ({"evaluate": {"data": "h.csv", "target": "y", "metric": "f1"}}, "retrain.yaml: evaluate.metric: unknown key"),
    ({"gates": ["accuracy=>0.9"]},
     'retrain.yaml: gates[0]: expected a gate like "accuracy>=0.9", got \'accuracy=>0.9\' (cannot parse gate "accuracy=>0.9"'),
    ({"gates": "accuracy>=0.9 and f1>0.5"}, 'retrain.yaml: gates[0]: expected a gate like "accuracy>=0.9"'),
    ({"gates": {"accuracy": 0.9}}, "retrain.yaml: gates: expected a list of gates"),
    ({"min_improvement": {"metric": "acc", "delta": 0.1}}, "retrain.yaml: min_improvement.metric: expected one of accuracy, f1, "
        "roc_auc, log_loss, rmse, mae, r2, got 'acc'"),
    ({"min_improvement": {"metric": "accuracy", "delta": -0.1}}, "retrain.yaml: min_improvement.delta: expected a number >= 0, got -0.1"),
    ({"min_improvement": 0.01}, "retrain.yaml: min_improvement: expected a map like {metric: accuracy, delta: 0.01}, got 0.01"),
    ({"cooldown": "tomorrow"}, "retrain.yaml: cooldown: expected a duration like 30m, 12h, 1d or 2w, got 'tomorrow'"),
    ({"cooldown": True}, "retrain.yaml: cooldown: expected a duration like 30m, 12h, 1d or 2w, got True"),
    ({"max_versions_kept": 0}, "retrain.yaml: max_versions_kept: expected a whole number >= 1, got 0"),
    ({"max_versions_kept": 2.5}, "retrain.yaml: max_versions_kept: expected a whole number >= 1, got 2.5"),
    ({"performance_floor": {"metric": "roc_auc", "min": 0.8}}, "retrain.yaml: performance_floor.metric: expected one of accuracy, "
        "f1, rmse, mae, r2, got 'roc_auc'"),
    ({"performance_floor": {"metric": "accuracy"}}, "retrain.yaml: performance_floor.min: expected the worst acceptable accuracy, "
        "got nothing"),
    ({"performance_floor": {"metric": "rmse", "min": 3}}, "retrain.yaml: performance_floor.min: rmse is lower is better: give `max:`"),
    ({"performance_floor": {"metric": "accuracy", "min": 0.8, "min_rows": 0}}, "retrain.yaml: performance_floor.min_rows: "
        "expected a whole number >= 1, got 0"),
])
def test_bad_policies(changes, message):
    with pytest.raises(PolicyError) as err:
        parse_policy(with_changes(**changes))
    assert err.value.message.startswith(message), err.value.message
    assert err.value.exit_code == 2


def test_not_a_map():
    with pytest.raises(PolicyError, match=r"retrain.yaml: expected a map \(model:, pipeline:, evaluate:, \.\.\.\), got \[.model., .x.\]"):
        parse_policy(["model", "x"])


# -- through the command line, against the project ---------------------------------------
def one_error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("mlctl: error: "), res.stderr
    assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("hint: ")), res.stderr
    assert "Traceback" not in res.stderr
    return lines[0][len("mlctl: error: "):]


@pytest.mark.parametrize("text, message", [
    ("model: cancer\npipeline: [\n", "retrain.yaml: not valid YAML at line 3"),
    ("- a\n- b\n", "retrain.yaml: expected a map (model:, pipeline:, evaluate:, ...)"),
    ("\xff\xfe", "retrain.yaml: not UTF-8 text"),
])
def test_malformed_files_are_exit_2(project, cli, text, message):
    (project.root / "retrain.yaml").write_bytes(text.encode("latin-1"))
    res = cli("retrain", "cancer")
    assert res.exit_code == 2
    assert one_error_line(res).startswith(message)


def test_missing_policy_file(project, cli):
    (project.root / "retrain.yaml").unlink()
    res = cli("retrain", "cancer")
    assert res.exit_code == 2 and one_error_line(res) == "retrain.yaml: no such file"
    res = cli("retrain", "cancer", "--policy", "other.yaml")
    assert res.exit_code == 2 and one_error_line(res) == "other.yaml: no such file"


@pytest.mark.parametrize("changes, message", [
    ({"pipeline": {"stages": ["trian"], "model_output": "model.pkl"}},
     "retrain.yaml: pipeline.stages[0]: no stage 'trian' in pipeline.yaml"),
    ({"pipeline": {"stages": ["train"], "model_output": "models/model.pkl"}},
     "retrain.yaml: pipeline.model_output: models/model.pkl is not an output of train or the stages they need"),
    ({"evaluate": {"data": "data/other.csv", "target": "malignant"}},
     "retrain.yaml: evaluate.data: data/other.csv does not exist and no stage of train writes it"),
    ({"model": "churn"}, "retrain.yaml is the retrain policy of model 'churn', not 'cancer'"),
    ({"evaluate": {"data": "data/raw/patients.csv", "target": "diagnosis"}},
     "retrain.yaml: evaluate.target: 'diagnosis' is not a column of data/raw/patients.csv"),
])
def test_policy_checked_against_the_project(project, cli, changes, message):
    project.policy(**changes)
    res = cli("retrain", "cancer")
    assert res.exit_code == 2
    assert one_error_line(res).startswith(message)
    assert not (project.root / ".mlctl" / "refs" / "models").exists()  # nothing ran, nothing written


def test_eval_target_missing_from_data_the_pipeline_writes_is_exit_2_before_registering(project, cli):
    project.policy(evaluate={"data": "data/holdout.csv", "target": "diagnosis"})
    res = cli("retrain", "cancer")
    assert res.exit_code == 2, res.stdout + res.stderr
    assert "mlctl: error: retrain.yaml: evaluate.target: 'diagnosis' is not a column of data/holdout.csv" in res.stderr
    from mlctl.registry.index import model_names

    assert "cancer" not in model_names(project.repo)  # trained, but nothing registered


def test_no_pipeline_yaml(project, cli):
    (project.root / "pipeline.yaml").unlink()
    res = cli("retrain")
    assert res.exit_code == 2 and one_error_line(res).startswith("retrain.yaml: pipeline.stages: there is no pipeline.yaml")


def test_name_defaults_to_the_policy_model(project, cli):
    res = cli("retrain", "--dry-run")
    assert res.exit_code == 0 and "cancer has no production version yet" in res.stdout


def test_policy_file_elsewhere(project, cli, tmp_path):
    other = tmp_path / "policies" / "cancer.yaml"
    other.parent.mkdir()
    other.write_text((project.root / "retrain.yaml").read_text())
    (project.root / "retrain.yaml").unlink()
    res = cli("retrain", "cancer", "--policy", str(other), "--dry-run", "--json")
    assert res.exit_code == 0 and res.json()["policy"] == str(other)
