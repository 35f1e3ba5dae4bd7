"""The registry with real runs and tracked data: --run, run-metric gates, lineage."""

from __future__ import annotations

import importlib.machinery
import json
import sys
import types

import pytest

from mlctl.data import api as data_api
from mlctl.errors import NotFoundError, UsageError
from mlctl.registry import aliases, versions
from mlctl.registry.api import promote
from mlctl.registry.lineage import lineage
from mlctl.tracking.api import start_run
from tests.registry.conftest import make_frame


@pytest.fixture
def trained(repo, model_files):
    """data/train.csv tracked, one run that used it (accuracy 0.93), model.pkl in the workspace."""
    (repo.root / "data").mkdir()
    make_frame(300).to_csv(repo.root / "data" / "train.csv", index=False)
    data_api.add(repo, ["data/train.csv"])
    with start_run(experiment="churn", name="lr", params={"C": 1.0}, data=["data/train.csv"], repo=repo) as run:
        run.log_metrics({"accuracy": 0.93, "loss": 0.2})
    (repo.root / "model.pkl").write_bytes((model_files / "good.pkl").read_bytes())
    return repo, run.id


def test_register_with_run_copies_lineage_and_signature(trained):
    repo, run_id = trained
    v = versions.register(repo, "churn", repo.root / "model.pkl", run=run_id[:10])
    assert v.run_id == run_id
    assert v.metrics == {"accuracy": 0.93, "loss": 0.2} and v.params == {"C": 1.0}
    digest = data_api.tracked(repo)[0].hash
    assert v.data == {"data/train.csv": digest}
    # signature from the run's data: the model's three features, typed from the file
    assert v.signature["source"] == "run data"
    assert v.signature["inputs"] == [{"name": "tenure", "type": "long"}, {"name": "charges", "type": "double"},
                                     {"name": "calls", "type": "long"}]


def test_signature_from_run_data_survives_a_changed_workspace(trained):
    repo, run_id = trained
    (repo.root / "data" / "train.csv").write_text("something,else\n1,2\n")
    v = versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    assert v.signature["source"] == "run data"  # read from the store object of the run's version


def test_unknown_and_ambiguous_runs(trained):
    repo, run_id = trained
    with start_run(experiment="churn", repo=repo):
        pass
    with pytest.raises(NotFoundError, match="unknown run"):
        versions.register(repo, "churn", repo.root / "model.pkl", run="01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    with pytest.raises(UsageError, match="ambiguous"):
        versions.register(repo, "churn", repo.root / "model.pkl", run=run_id[:2])
    assert versions.list_models(repo) == []


def test_run_metric_gates(trained, cli):
    repo, run_id = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    ok = promote(repo, "churn:1", "production", ["accuracy>=0.9", "loss<0.5"])
    assert ok.promoted and [c["source"] for c in ok.checks] == ["run", "run"]
    assert aliases.history(repo, "churn")[-1]["gates"][0]["value"] == 0.93
    res = cli("model", "promote", "churn:1", "--to", "staging", "--gate", "accuracy>=0.95")
    assert res.exit_code == 1 and "FAIL" in res.stdout and "staging" not in aliases.get_aliases(repo, "churn")
    res = cli("model", "promote", "churn:1", "--to", "staging", "--gate", "auc>0.5")
    assert res.exit_code == 2
    assert f"gate auc>0.5: run {run_id} has no metric 'auc'" in res.stderr
    assert "hint: the run's metrics: accuracy, loss" in res.stderr


def test_gates_read_the_runs_latest_metrics(trained):
    repo, run_id = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    with start_run(run_id=run_id, repo=repo) as run:
        run.log_metric("accuracy", 0.5)
    result = promote(repo, "churn:1", "production", ["accuracy>=0.9"])
    assert not result.promoted and result.checks[0]["value"] == 0.5


def test_register_inside_run_log_joins_that_run(trained, mlctl_proc):
    repo, _ = trained
    proc = mlctl_proc("run", "log", "-e", "churn", "--", sys.executable, "-m", "mlctl", "model", "register",
                      "churn", "model.pkl", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "churn:1\n"  # the wrapped command's output passes through
    run_id = versions.get_version(repo, "churn:1").run_id
    assert f"mlctl: run {run_id} finished" in proc.stderr


def test_lineage_of_a_model(trained, cli):
    repo, run_id = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    aliases.set_alias(repo, "churn", "production", 1)
    doc = lineage(repo, "churn@production")
    root = doc["root"]
    assert doc["kind"] == "model" and root["spec"] == "churn:1"
    run_node = root["children"][0]
    assert run_node["kind"] == "run" and run_node["id"] == run_id and run_node["experiment"] == "churn"
    data_node = run_node["children"][0]
    assert data_node["path"] == "data/train.csv" and data_node["hash"] == data_node["current_hash"]
    assert [c["kind"] for c in root["children"]] == ["run", "alias"]
    assert doc["runs"] == [run_id] and doc["models"] == ["churn:1"] and doc["data"] == ["data/train.csv"]
    text = cli("lineage", "churn@production").stdout.splitlines()
    assert text[0].startswith("model churn:1")
    assert text[1].startswith(f"├── run {run_id}  experiment churn  name lr  finished")
    assert text[2].startswith("│   └── data data/train.csv ") and text[2].endswith("(current)")
    assert text[3].startswith("└── alias churn@production")


def test_lineage_of_a_data_path_across_versions(trained, cli):
    repo, old_run = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=old_run)
    make_frame(300, seed=5).to_csv(repo.root / "data" / "train.csv", index=False)
    data_api.add(repo, ["data/train.csv"])
    with start_run(experiment="churn", data=["data/train.csv"], repo=repo) as run:
        pass
    versions.register(repo, "churn", repo.root / "model.pkl", run=run.id)
    (repo.root / "data" / "other.csv").write_text("x\n1\n")
    data_api.add(repo, ["data/other.csv"])
    with start_run(experiment="other", data=["data/other.csv"], repo=repo):
        pass
    doc = lineage(repo, "data/train.csv")
    assert doc["kind"] == "data" and set(doc["runs"]) == {old_run, run.id}
    assert doc["models"] == ["churn:1", "churn:2"]
    used = {c["id"]: c["used"]["current"] for c in doc["root"]["children"]}
    assert used == {old_run: False, run.id: True}
    assert cli("lineage", "data/train.csv.mlctl", "--json").json()["models"] == ["churn:1", "churn:2"]
    text = cli("lineage", "data/train.csv").stdout
    assert f"run {run.id}" in text and "(current)" in text and "└── model churn:" in text


def test_lineage_of_a_run(trained, cli):
    repo, run_id = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    versions.register(repo, "other", repo.root / "model.pkl", run=run_id)
    doc = cli("lineage", run_id[:12], "--json").json()
    assert doc["kind"] == "run" and doc["root"]["id"] == run_id
    assert [c["kind"] for c in doc["root"]["children"]] == ["data", "model", "model"]
    assert doc["models"] == ["churn:1", "other:1"]


def test_lineage_shows_the_last_drift_verdict(trained, monkeypatch):
    repo, run_id = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    aliases.set_alias(repo, "churn", "production", 1)
    calls = []

    def latest_check(repo_arg, model=None):
        calls.append(model)
        return {"dataset_drift": True, "drift_share": 0.6, "time": "2026-01-02T03:04:05+00:00",
                "number_of_columns": 5, "number_of_drifted_columns": 3}

    for name in ("mlctl.monitoring", "mlctl.monitoring.records"):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=name == "mlctl.monitoring")
        monkeypatch.setitem(sys.modules, name, module)
    sys.modules["mlctl.monitoring.records"].latest_check = latest_check
    doc = lineage(repo, "churn:1")
    drift = [c for c in doc["root"]["children"] if c["kind"] == "drift"]
    assert drift and drift[0]["check"]["drift_share"] == 0.6
    assert drift[0]["label"] == "last drift check: drift detected (3/5 columns)  2026-01-02 03:04:05"
    assert calls == ["churn"]
    # the verdict is about the production model, not every version
    assert not [c for c in lineage(repo, "churn:2")["root"]["children"] if c["kind"] == "drift"]


def test_show_includes_run_facts(trained, cli):
    repo, run_id = trained
    cli("model", "register", "churn", "model.pkl", "--run", run_id)
    text = cli("model", "show", "churn:1").stdout
    assert f"run:         {run_id}" in text and "accuracy=0.93" in text and "data/train.csv" in text
    doc = cli("model", "show", "churn:1", "--json").json()
    assert doc["run_id"] == run_id and json.dumps(doc)


def test_lineage_shows_pipeline_stages(repo, model_files):
    """A `pipeline run` records its stages as tags and durations as metrics on its run."""
    tags = {"stage.prepare.outcome": "ran", "stage.prepare.cache": "miss",
            "stage.train.outcome": "restored", "stage.train.cache": "hit"}
    with start_run(experiment="pipeline", tags=tags, repo=repo) as run:
        run.log_metrics({"stage.prepare.duration_s": 1.25, "accuracy": 0.9})
    versions.register(repo, "churn", model_files / "good.pkl", run=run.id)
    run_node = lineage(repo, "churn:1")["root"]["children"][0]
    stages = [c for c in run_node["children"] if c["kind"] == "stage"]
    assert [s["label"] for s in stages] == ["pipeline stage prepare  ran, cache miss, 1.2s",
                                            "pipeline stage train  restored, cache hit"]


def test_signature_from_a_file_inside_a_tracked_folder(repo, model_files):
    folder = repo.root / "data" / "prepared"
    folder.mkdir(parents=True)
    (folder / "README.txt").write_text("prepared data\n")
    make_frame(100).to_parquet(folder / "train.parquet")
    data_api.add(repo, ["data/prepared"])
    with start_run(experiment="churn", data=["data/prepared"], repo=repo) as run:
        pass
    v = versions.register(repo, "churn", model_files / "good.pkl", run=run.id)
    assert v.signature["source"] == "run data"
    assert v.signature["inputs"][1] == {"name": "charges", "type": "double"}
    assert v.data == {"data/prepared": data_api.tracked(repo)[0].hash}


def _pipeline_model(repo, cli, model_files):
    """wine.csv and an unrelated other/ tracked; a pipeline reads wine.csv and writes model.pkl."""
    (repo.root / "wine.csv").write_text("alcohol,target\n1,0\n2,1\n")
    (repo.root / "other").mkdir()
    (repo.root / "other" / "notes.csv").write_text("a\n1\n")
    data_api.add(repo, ["wine.csv", "other"])
    (repo.root / "good.pkl").write_bytes((model_files / "good.pkl").read_bytes())
    (repo.root / "pipeline.yaml").write_text(
        "stages:\n  train:\n    cmd: cp good.pkl model.pkl\n    deps: [wine.csv, good.pkl]\n    outs: [model.pkl]\n")
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0, res.stderr
    run_id = res.json()["run_id"]
    versions.register(repo, "wine", repo.root / "model.pkl", run=run_id)
    return run_id


def test_lineage_of_a_pipeline_model_shows_its_deps_as_data_and_outs_as_outputs(repo, cli, model_files):
    _pipeline_model(repo, cli, model_files)
    run_node = lineage(repo, "wine:1")["root"]["children"][0]
    kinds = {c["path"]: c["kind"] for c in run_node["children"] if "path" in c}
    assert kinds == {"wine.csv": "data", "model.pkl": "output"}  # not other/; model.pkl is not data it read
    assert lineage(repo, "wine.csv")["models"] == ["wine:1"]
    assert lineage(repo, "other")["models"] == [] and lineage(repo, "other")["runs"] == []
    assert lineage(repo, "model.pkl")["runs"] == []  # no run read it


def test_lineage_reads_older_pipeline_runs_right(repo, model_files):
    """Pipeline runs recorded before issue 23 hold every pointer and their outputs in `data`;
    their dep./out. tags say what the stages read and wrote."""
    (repo.root / "wine.csv").write_text("alcohol,target\n1,0\n")
    (repo.root / "other.csv").write_text("a\n1\n")
    (repo.root / "model.pkl").write_bytes((model_files / "good.pkl").read_bytes())
    hashes = {p.path: p.hash for p in data_api.add(repo, ["wine.csv", "other.csv", "model.pkl"]).pointers}
    tags = {"stage.train.outcome": "ran", "dep.wine.csv": hashes["wine.csv"], "dep.src/train.py": "0" * 32,
            "out.model.pkl": hashes["model.pkl"]}
    with start_run(experiment="pipeline", tags=tags, repo=repo) as run:  # data: every pointer, as before
        pass
    assert set(run.info.data) == {"wine.csv", "other.csv", "model.pkl"}
    versions.register(repo, "wine", repo.root / "model.pkl", run=run.id)
    assert lineage(repo, "other.csv")["models"] == []
    run_node = lineage(repo, "wine:1")["root"]["children"][0]
    assert [(c["kind"], c["path"]) for c in run_node["children"] if "path" in c] == [("data", "wine.csv"),
                                                                                    ("output", "model.pkl")]


def test_lineage_shows_each_data_versions_last_validation(trained, cli):
    from mlctl.validation.api import validate

    repo, run_id = trained
    versions.register(repo, "churn", repo.root / "model.pkl", run=run_id)
    (repo.root / "expectations.yaml").write_text(
        "datasets:\n  data/train.csv:\n    expectations:\n      - {expect: row_count, min: 1}\n"
        "      - {expect: between, column: tenure, max: -1, name: tenure negative}\n")
    failed = validate(repo)
    assert not failed.success
    doc = lineage(repo, "churn:1")
    data_node = doc["root"]["children"][0]["children"][0]
    [node] = [c for c in data_node["children"] if c["kind"] == "validation"]
    record = node["validation"]
    assert (record["id"], record["success"], record["failed"], record["suite"]) == \
        (failed.record_id, False, 1, "expectations.yaml")
    assert record["failed_expectations"] == ["data/train.csv: tenure negative"]
    assert node["label"].startswith("last validation: FAILED (1 failed of 2)  suite expectations.yaml")
    assert node["label"].endswith(failed.record_id)

    make_frame(300, seed=5).to_csv(repo.root / "data" / "train.csv", index=False)  # a new version, validated
    newer = validate(repo)
    old_version = lineage(repo, "churn:1")["root"]["children"][0]["children"][0]
    assert old_version["children"][0]["validation"]["id"] == failed.record_id  # not the other version's
    data_api.add(repo, ["data/train.csv"])
    root = cli("lineage", "data/train.csv", "--json").json()["root"]
    assert root["children"][0]["kind"] == "validation" and root["children"][0]["validation"]["id"] == newer.record_id
    text = cli("lineage", "data/train.csv").stdout.splitlines()
    assert text[1].startswith("├── last validation: FAILED") and newer.record_id in text[1]
