"""`mlctl monitor drift` end to end: exit codes, --json, human output, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlctl.monitoring import records


@pytest.fixture
def data(repo):
    rng = np.random.default_rng(0)
    n = 3000
    ref = pd.DataFrame({"age": rng.normal(40, 10, n), "plan": rng.choice(["a", "b", "c"], n),
                        "visits": rng.poisson(3, n), "churned": rng.integers(0, 2, n)})
    same = pd.DataFrame({"age": rng.normal(40, 10, n), "plan": rng.choice(["a", "b", "c"], n),
                         "visits": rng.poisson(3, n), "churned": rng.integers(0, 2, n)})
    moved = same.assign(age=same["age"] + 10, plan=rng.choice(["a", "d"], n))
    ref.to_csv(repo.root / "ref.csv", index=False)
    same.to_parquet(repo.root / "same.parquet")
    moved.to_parquet(repo.root / "moved.parquet")
    return repo


def test_no_drift_exits_0_and_drift_exits_1(data, cli):
    ok = cli("monitor", "drift", "--reference", "ref.csv", "--current", "same.parquet")
    assert ok.exit_code == 0, ok.stderr
    assert "dataset drift: no drift (0/4 columns" in ok.stdout
    bad = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet")
    assert bad.exit_code == 1
    lines = bad.stdout.splitlines()
    assert lines[0].split() == ["column", "kind", "method", "statistic", "threshold", "missing", "ref->cur", "drifted"]
    assert any(l.startswith("age ") and l.rstrip().endswith("yes") for l in lines)
    assert "dataset drift: DRIFT (2/4 columns, 50%; threshold 50%)" in bad.stdout
    assert len(records.list_checks(data)) == 2


def test_json_output(data, cli):
    res = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--json",
              "--target", "churned", "--drift-share", "0.75")
    assert res.exit_code == 0
    out = res.json()
    assert out["dataset_drift"] is False and out["drift_share"] == 0.75 and out["share_drifted"] == 2 / 3
    assert out["drifted_columns"] == ["age", "plan"]
    assert out["target_drift"]["column"] == "churned" and out["target_drift"]["role"] == "target"
    assert out["check"]["id"] == records.latest_check(data)["id"]
    assert out["alerts"] == {}
    age = next(c for c in out["columns"] if c["column"] == "age")
    assert age["method"] == "wasserstein" and age["threshold"] == 0.1 and age["drifted"] is True


def test_report_is_written_and_recorded(data, cli):
    res = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--report", "out/drift.html")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: cannot write the report: folder out")
    assert records.list_checks(data) == []  # nothing recorded for a failed check
    res = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--report", "drift.html")
    assert res.exit_code == 1
    html = (data.root / "drift.html").read_text()
    assert "Dataset drift detected" in html and "<svg" in html
    assert records.latest_check(data)["report"]["path"] == "drift.html"


def test_columns_method_threshold_and_config(data, cli, tmp_path):
    res = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--json",
              "--columns", "age,visits", "--method", "ks", "--threshold", "0.01")
    out = res.json()
    assert [c["column"] for c in out["columns"]] == ["age", "visits"]
    assert out["columns"][0]["method"] == "ks" and out["columns"][0]["threshold"] == 0.01
    cfg = data.root / "drift.yaml"
    cfg.write_text("columns:\n  age: {skip: true}\n  plan: {method: psi, threshold: 50}\n")
    out = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--json",
              "--config", "drift.yaml").json()
    assert out["dataset_drift"] is False and out["drifted_columns"] == []


@pytest.mark.parametrize("args,message", [
    (["--current", "same.parquet"], "Missing option '--reference'"),
    (["--reference", "nope.csv", "--current", "same.parquet"], "no such file: nope.csv"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--method", "magic"], "flags: method: expected one of auto, ks"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--threshold", "0.2"], "threshold needs a single method"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--columns", "zz"], "no column 'zz'"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--since", "1d"], "--since applies"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--drift-share", "3"], "flags: drift_share: expected a number in [0, "
        "1], got 3"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--config", "missing.yaml"], "missing.yaml: no such file"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--webhook", "ftp://x"], "needs an http(s) URL"),
    (["--reference", "ref.csv", "--current", "predictions:ghost"], "no prediction log for model 'ghost'"),
    (["--reference", "broken.csv", "--current", "same.parquet"], "cannot read broken.csv as CSV"),
    (["--reference", "ref.csv", "--current", "same.parquet", "--target", "nope"], "target column 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(data, mlctl_proc, args, message):
    (data.root / "broken.csv").write_text("a,b\n1,2\n1,2,3\n")
    proc = mlctl_proc("monitor", "drift", *args, cwd=data.root)
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("mlctl: error: ") and message in first, proc.stderr
    assert "Traceback" not in proc.stderr
    assert all(l.startswith(("mlctl: error:", "hint:")) for l in proc.stderr.splitlines())
    assert records.list_checks(data) == []


def test_predictions_current_records_the_model(data, cli):
    from mlctl.predlog.api import PredictionLogWriter

    rng = np.random.default_rng(1)
    with PredictionLogWriter(data, "churn") as writer:
        writer.append([{"request_id": f"r{i}", "version": 3, "prediction": int(rng.integers(0, 2)),
                        "inputs": {"age": float(rng.normal(60, 10)), "plan": "a", "visits": int(rng.poisson(3))}}
                       for i in range(1500)])
    res = cli("monitor", "drift", "--reference", "ref.csv", "--current", "predictions:churn", "--since", "7d",
              "--target", "churned", "--json")
    out = res.json()
    assert res.exit_code == 1 and out["model"] == "churn" and out["check"]["model"] == "churn"
    assert out["current"]["source"].startswith("predictions:churn since ")
    assert out["prediction_drift"]["compared_with"] == "churned"
    assert out["mismatched_columns"] == {"only_in_reference": [], "only_in_current": []}
    assert records.latest_check(data, model="churn") is not None


def test_help_lists_the_command(cli):
    out = cli("monitor", "--help").stdout
    assert "drift" in out
    out = cli("monitor", "drift", "--help").stdout
    for flag in ("--reference", "--current", "--columns", "--target", "--method", "--threshold", "--drift-share",
                 "--report", "--json", "--on-drift", "--webhook", "--since", "--config"):
        assert flag in out


def test_json_is_strict_even_with_infinite_distances(repo, cli):
    pd.DataFrame({"k": [1.0] * 2000}).to_parquet(repo.root / "a.parquet")
    pd.DataFrame({"k": [2.0] * 2000}).to_parquet(repo.root / "b.parquet")
    (repo.root / "numeric.yaml").write_text("columns: {k: {kind: numeric}}\n")  # not "few values"
    res = cli("monitor", "drift", "--reference", "a.parquet", "--current", "b.parquet", "--json",
              "--method", "wasserstein", "--config", "numeric.yaml")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["columns"][0]["distance"] == "Infinity"


def test_a_log_with_nothing_recent_is_no_verdict(data, mlctl_proc):
    import datetime as dt

    from mlctl.predlog.api import PredictionLogWriter

    with PredictionLogWriter(data, "churn") as writer:
        writer.append([{"request_id": "old", "version": 1, "prediction": 0, "inputs": {"age": 40.0},
                        "timestamp": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)}])
    proc = mlctl_proc("monitor", "drift", "--reference", "ref.csv", "--current", "predictions:churn",
                      "--since", "1d", cwd=data.root)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mlctl: error: the current data has no rows (predictions:churn since ")


def test_two_files_compare_outside_a_repository_and_nothing_is_recorded(data, cli, tmp_path, monkeypatch):
    plain = tmp_path / "anywhere"
    plain.mkdir()
    for name in ("ref.csv", "moved.parquet"):
        (plain / name).write_bytes((data.root / name).read_bytes())
    monkeypatch.chdir(plain)
    res = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--report", "drift.html")
    assert res.exit_code == 1, res.stderr
    assert "dataset drift: DRIFT" in res.stdout and "report: drift.html" in res.stdout
    assert "recorded as" not in res.stdout
    assert "nothing recorded: not inside an mlctl repository" in res.stderr
    assert (plain / "drift.html").is_file() and not (plain / ".mlctl").exists()
    doc = cli("monitor", "drift", "--reference", "ref.csv", "--current", "moved.parquet", "--json")
    assert doc.exit_code == 1 and doc.json()["check"] is None and doc.json()["drifted_columns"] == ["age", "plan"]
    assert records.list_checks(data) == []


@pytest.mark.parametrize("reference, message", [
    ("predictions:churn", "predictions:churn: the prediction log is in an mlctl repository, and this is not one"),
    ("data/train.csv@HEAD", "no such file: data/train.csv@HEAD (tracked data paths and @REV need an mlctl repository"),
])
def test_repository_sources_outside_a_repository_are_exit_2(data, mlctl_proc, tmp_path, reference, message):
    plain = tmp_path / "anywhere"
    plain.mkdir()
    (plain / "ref.csv").write_bytes((data.root / "ref.csv").read_bytes())
    proc = mlctl_proc("monitor", "drift", "--reference", reference, "--current", "ref.csv", cwd=plain)
    assert proc.returncode == 2 and proc.stderr.startswith(f"mlctl: error: {message}"), proc.stderr
