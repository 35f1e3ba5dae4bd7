"""`mlctl run ...` through the CLI: output, --json, exit codes and bad input."""

from __future__ import annotations

import json
import math

import pytest

from mlctl.tracking.runs import count_runs, get_run


def _one_error_line(res, *needles):
    assert res.exit_code == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("mlctl: error: ") and "Traceback" not in res.stderr
    assert all(line.startswith("hint: ") for line in lines[1:])
    for needle in needles:
        assert needle in lines[0]


def test_log_prints_the_id_alone(cli, repo):
    res = cli("run", "log", "-e", "churn", "-n", "rf", "-p", "C=2", "-p", "model=rf", "-p", "lr=1e-3",
              "-p", "flag=true", "-m", "acc=0.93", "-m", "loss@5=0.2", "-t", "team=ml")
    assert res.exit_code == 0
    run_id = res.stdout.strip()
    assert res.stdout == run_id + "\n"
    run = get_run(repo, run_id)
    assert run.params == {"C": 2, "model": "rf", "lr": 0.001, "flag": True}
    assert run.metrics == {"acc": 0.93, "loss": 0.2} and run.metric_history("loss")[0][0] == 5
    assert run.tags == {"team": "ml"} and run.experiment == "churn" and run.name == "rf"
    assert run.status == "finished" and run.end_time == run.start_time


def test_log_json_and_id_file(cli, repo, tmp_path):
    res = cli("run", "log", "-m", "acc=nan", "-m", "top=inf", "--json", "--id-file", tmp_path / "id")
    assert res.exit_code == 0
    doc = res.json()
    assert doc["metrics"] == {"acc": "NaN", "top": "Infinity"}
    assert (tmp_path / "id").read_text() == doc["id"] + "\n"
    assert set(doc) >= {"id", "experiment", "status", "start_time", "end_time", "git", "params", "metrics",
                        "tags", "artifacts", "data", "env", "command", "host"}


@pytest.mark.parametrize("args, needle", [
    (["-p", "novalue"], "malformed -p 'novalue'"),
    (["-p", "=1"], "malformed -p"),
    (["-m", "acc=high"], "metric acc: 'high' is not a number"),
    (["-m", "acc@x=1"], "step after @"),
    (["-t", "t"], "malformed -t"),
    (["-p", "bad key!=1"], "invalid param name"),
    (["--artifact", "nope.bin"], "artifact nope.bin does not exist"),
    (["--metrics-file", "missing.json"], "does not exist"),
    (["--data", "raw.csv"], "not tracked data"),
    (["-e", "bad\"name"], "invalid experiment name"),
])
def test_log_bad_input_records_nothing(cli, repo, args, needle):
    _one_error_line(cli("run", "log", *args), needle)
    assert count_runs(repo) == 0


@pytest.mark.parametrize("content, needle", [
    ("{not json", "is not valid JSON"),
    ('{"acc": "high"}', "value of acc is not a number"),
    ('[1, 2]', "expected a map"),
])
def test_log_bad_metrics_file(cli, repo, content, needle):
    (repo.root / "m.json").write_text(content)
    _one_error_line(cli("run", "log", "--metrics-file", "m.json"), needle)
    assert count_runs(repo) == 0


def test_log_metrics_file_shapes(cli, repo):
    (repo.root / "m.yaml").write_text("acc: 0.9\ntrain:\n  loss: [0.5, 0.4, 0.3]\nval: NaN\n")
    (repo.root / "h.json").write_text(json.dumps({"curve": [{"step": 10, "auc": 0.7}, {"step": 20, "auc": 0.8}]}))
    res = cli("run", "log", "--metrics-file", "m.yaml", "--metrics-file", "h.json")
    run = get_run(repo, res.stdout.strip())
    assert run.metrics["acc"] == 0.9 and run.metrics["train.loss"] == 0.3 and math.isnan(run.metrics["val"])
    assert [(s, v) for s, v, _t in run.metric_history("curve.auc")] == [(10, 0.7), (20, 0.8)]


def test_log_artifacts_and_data(cli, repo):
    (repo.root / "model.pkl").write_bytes(b"m")
    (repo.root / "data").mkdir()
    (repo.root / "data" / "train.csv").write_text("a\n1\n")
    digest = "0123456789abcdef0123456789abcdef"
    (repo.root / "data" / "train.csv.mlctl").write_text(f"path: train.csv\nhash: {digest}\nsize: 4\nnfiles: 1\n")
    res = cli("run", "log", "--artifact", "model.pkl", "--data", "data/train.csv")
    run = get_run(repo, res.stdout.strip())
    assert list(run.artifacts) == ["model.pkl"] and run.data == {"data/train.csv": digest}
    res = cli("run", "log")  # without --data: every tracked pointer
    assert get_run(repo, res.stdout.strip()).data == {"data/train.csv": digest}


def test_list_table_json_filter_sort(cli, repo):
    for c, model, acc in [(1, "rf", 0.95), (2, "rf", 0.85), (3, "svm", 0.97), (4, "rf", 0.99)]:
        cli("run", "log", "-p", f"C={c}", "-p", f"model={model}", "-m", f"acc={acc}")
    res = cli("run", "list", "--filter", "metrics.acc > 0.9 and params.model == 'rf'", "--sort", "-metrics.acc", "--json")
    assert res.exit_code == 0
    assert [r["params"]["C"] for r in res.json()] == [4, 1]
    res = cli("run", "list", "-c", "params.C,metrics.acc", "-s", "metrics.acc", "-l", "2")
    assert res.stdout.splitlines() == ["params.C  metrics.acc", "2         0.85", "1         0.95"]
    assert "showing 2 of 4 runs" in res.stderr
    res = cli("run", "list")
    header = res.stdout.splitlines()[0].split()
    assert header[:6] == ["id", "experiment", "name", "status", "started", "duration"]
    assert "params.C" in header and "metrics.acc" in header
    assert cli("run", "list", "--filter", "metrics.nothing > 1", "--json").json() == []


def test_list_counts_matches_only_up_to_a_cap(cli, repo, monkeypatch):
    from mlctl.cli.commands import run as run_cmd

    for acc in (0.1, 0.2, 0.3, 0.4, 0.5):
        cli("run", "log", "-m", f"acc={acc}")
    monkeypatch.setattr(run_cmd, "COUNT_AT_MOST", 3)
    assert "showing 1 of more than 3 runs" in cli("run", "list", "-l", "1").stderr
    assert "showing 1 of 2 runs" in cli("run", "list", "-l", "1", "-f", "metrics.acc > 0.35").stderr


def test_list_bad_filter_points_at_the_token(cli, repo):
    cli("run", "log", "-m", "acc=1")
    res = cli("run", "list", "--filter", "metrics.acc > 0.9 and")
    _one_error_line(res, "column 22")
    res = cli("run", "list", "--sort", "-nonsense")
    _one_error_line(res, "unknown attribute 'nonsense'")


def test_a_filter_nested_500_deep_is_exit_2_not_a_crash(cli, repo):
    cli("run", "log", "-m", "acc=1")
    res = cli("run", "list", "--filter", "(" * 500 + "metrics.acc > 0.9" + ")" * 500)
    _one_error_line(res, "nested deeper than 64")
    ok = cli("run", "list", "--json", "--filter", "not " * 10 + "(" * 50 + "metrics.acc > 0.9" + ")" * 50)
    assert ok.exit_code == 0 and len(ok.json()) == 1  # ten "not"s cancel out


def test_list_columns_are_checked_like_sort_keys(cli, repo):
    cli("run", "log", "-p", "C=1", "-t", "team=ml", "-m", "acc=1")
    for bad in ("bogus", "nope.C", "metrics.", "a b"):
        _one_error_line(cli("run", "list", "--columns", f"id,{bad}"), f"unknown column {bad!r}")
    res = cli("run", "list", "--columns", "bogus", "--json")  # --json: the error is a JSON object on stderr
    assert res.exit_code == 2 and json.loads(res.stderr)["error"]["message"] == "unknown column 'bogus'"
    res = cli("run", "list", "--columns", "status,param.C,tags.team,exit_code,dirty")
    assert res.exit_code == 0
    assert res.stdout.split() == ["status", "params.C", "tags.team", "exit_code", "git_dirty",
                                  "finished", "1", "ml", "-", "no"]


def test_show_and_metric_history(cli, repo):
    run_id = cli("run", "log", "-p", "C=1", "-m", "loss@0=1", "-m", "loss@1=0.5", "-t", "a=b").stdout.strip()
    res = cli("run", "show", run_id[:10])
    assert res.exit_code == 0
    text = res.stdout
    assert f"run         {run_id}" in text or run_id in text.splitlines()[0]
    assert "params:" in text and "loss" in text and "(2 points)" in text
    doc = cli("run", "show", run_id, "--json").json()
    assert doc["metric_points"] == {"loss": 2} and doc["metrics"] == {"loss": 0.5}
    doc = cli("run", "show", run_id, "--json", "--history").json()
    assert [p["step"] for p in doc["metric_history"]["loss"]] == [0, 1]
    res = cli("run", "show", run_id, "--metric", "loss", "--json")
    assert [p["value"] for p in res.json()] == [1.0, 0.5]
    _one_error_line(cli("run", "show", run_id, "--metric", "nope"), "no metric nope")


def test_show_unknown_and_ambiguous(cli, repo):
    from mlctl.tracking.writes import create_run

    create_run(repo, run_id="01ARZ3NDEKTSV4RRFFQ69G5FA1", status="finished")
    create_run(repo, run_id="01ARZ3NDEKTSV4RRFFQ69G5FA2", status="finished")
    _one_error_line(cli("run", "show", "01ARZ3"), "ambiguous", "01ARZ3NDEKTSV4RRFFQ69G5FA1", "01ARZ3NDEKTSV4RRFFQ69G5FA2")
    _one_error_line(cli("run", "show", "01ZZZZ"), "unknown run")


def test_compare_table_json_and_plots(cli, repo, tmp_path):
    a = cli("run", "log", "-n", "a", "-p", "C=1", "-p", "model=rf", "-m", "loss@0=1", "-m", "loss@1=0.5", "-m", "acc=0.9").stdout.strip()
    b = cli("run", "log", "-n", "b", "-p", "C=2", "-p", "model=rf", "-m", "loss@0=0.8", "-m", "loss@1=0.4", "-m", "acc=0.9").stdout.strip()
    res = cli("run", "compare", a, b)
    rows = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in res.stdout.splitlines()[1:] if line.strip()}
    assert rows["C"].startswith("*") and not rows["model"].startswith("*") and not rows["acc"].startswith("*")
    doc = cli("run", "compare", a, b, "--json").json()
    assert doc["runs"] == [a, b]
    params = {p["key"]: p for p in doc["params"]}
    assert params["C"] == {"key": "C", "values": [1, 2], "differs": True} and not params["model"]["differs"]
    png, page = tmp_path / "curves.png", tmp_path / "curves.html"
    assert cli("run", "compare", a, b, "--plot", png).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli("run", "compare", a, b, "--plot", page, "--metric", "loss").exit_code == 0
    html = page.read_text()
    assert html.count("<polyline") == 2 and "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    _one_error_line(cli("run", "compare", a, b, "--plot", tmp_path / "x.jpg"), "use a .png, .html or .svg")
    _one_error_line(cli("run", "compare", a, b, "--plot", page, "--metric", "nope"), "no run has metric nope")
    _one_error_line(cli("run", "compare", a), "at least two runs")


def test_compare_titles_runs_of_one_millisecond_apart(cli, repo):
    """A sweep starts runs in the same millisecond: their first 10 characters are alike."""
    from mlctl.tracking.writes import create_run

    a, b = "01HX00000000AB000000000000", "01HX00000000AC000000000000"
    for run_id in (a, b):
        create_run(repo, run_id=run_id, status="finished", params={"C": run_id[-15:]})
    create_run(repo, run_id="01HX00000000AB0000000ZZZZZ", status="finished")  # known, not compared
    res = cli("run", "compare", a, b)
    assert res.exit_code == 0, res.stderr
    titles = res.stdout.splitlines()[0].split()
    assert titles == ["01HX00000000AB00000000", "01HX00000000AC"]  # not "01HX000000" twice
    assert [cli("run", "show", t, "--json").json()["id"] for t in titles] == [a, b]


def test_compare_shows_tags_as_the_dashboard_does(cli, repo):
    a = cli("run", "log", "-t", "team=ml", "-t", "stage=dev").stdout.strip()
    b = cli("run", "log", "-t", "team=ml", "-t", "stage=prod").stdout.strip()
    tags = {t["key"]: t for t in cli("run", "compare", a, b, "--json").json()["tags"]}
    assert tags == {"stage": {"key": "stage", "values": ["dev", "prod"], "differs": True},
                    "team": {"key": "team", "values": ["ml", "ml"], "differs": False}}
    lines = cli("run", "compare", a, b).stdout.splitlines()
    assert "tags:" in lines[lines.index(next(line for line in lines if "tags:" in line))]
    assert any(line.startswith("*") and "stage" in line and "prod" in line for line in lines)
    assert any("team" in line and not line.startswith("*") for line in lines)


def test_tag_delete_restore_purge(cli, repo):
    run_id = cli("run", "log").stdout.strip()
    assert cli("run", "tag", run_id, "stage=prod", "owner=me", "--json").json() == {"stage": "prod", "owner": "me"}
    assert cli("run", "tag", run_id, "--remove", "owner").exit_code == 0
    assert get_run(repo, run_id).tags == {"stage": "prod"}
    _one_error_line(cli("run", "tag", run_id), "nothing to do")
    _one_error_line(cli("run", "tag", run_id, "novalue"), "malformed -t")
    assert cli("run", "delete", run_id).exit_code == 0
    assert cli("run", "list", "--json").json() == []
    assert [r["id"] for r in cli("run", "list", "--deleted", "--json").json()] == [run_id]
    assert cli("run", "restore", run_id, "--json").json() == {"restored": [run_id]}
    assert len(cli("run", "list", "--json").json()) == 1
    cli("run", "delete", run_id)
    assert cli("run", "delete", run_id, "--purge", "--json").json() == {"purged": [run_id]}
    _one_error_line(cli("run", "show", run_id), "unknown run")


def test_artifacts_list_and_copy_out(cli, repo, tmp_path):
    (repo.root / "model.pkl").write_bytes(b"weights")
    run_id = cli("run", "log", "--artifact", "model.pkl").stdout.strip()
    assert list(cli("run", "artifacts", run_id, "--json").json()) == ["model.pkl"]
    assert cli("run", "artifacts", run_id, "-o", tmp_path / "out").exit_code == 0
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"weights"
    _one_error_line(cli("run", "artifacts", run_id, "nope", "-o", tmp_path / "o2"), "no artifact named nope")


def test_status_section(cli, repo):
    assert cli("status", "--json").json()["runs"] == {"count": 0, "running": 0, "last": None}
    run_id = cli("run", "log", "-n", "first").stdout.strip()
    doc = cli("status", "--json").json()["runs"]
    assert doc["count"] == 1 and doc["last"]["id"] == run_id and doc["last"]["name"] == "first"
    assert "1 run" in cli("status").stdout
