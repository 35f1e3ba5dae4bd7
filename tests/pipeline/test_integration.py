"""The pipeline with its neighbours: outputs as tracked data (pointers, data checkout --rev,
push/pull), the run-cache on another clone, the tracking run, gc/fsck and `mlctl status`."""

from __future__ import annotations

import sys


from mlctl.store.repo import Repo
from tests.conftest import PROJECT, git
from tests.factories import damage_object


def run_json(cli, *args, code=0):
    res = cli("pipeline", "run", "--json", *args)
    assert res.exit_code == code, (res.stdout, res.stderr)
    return res.json()


def outcomes(report) -> dict:
    return {s["stage"]: s["outcome"] for s in report["stages"]}


def commit_all(root, message):
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def test_outputs_become_tracked_data_and_metrics_stay_with_git(cli, chain):
    run_json(cli)
    for out in ("data/prepared", "model.pkl", "eval.txt", "report.txt"):
        assert (chain.root / f"{out}.mlctl").is_file(), out
    assert not (chain.root / "metrics.json.mlctl").exists()
    assert "/model.pkl" in chain.read(".gitignore").splitlines()
    assert "/prepared" in chain.read("data/.gitignore").splitlines()
    status = cli("data", "status", "--json")
    assert status.exit_code == 0, status.stdout
    listed = {p["path"]: p for p in cli("data", "list", "--json").json()}
    assert listed["model.pkl"]["hash"] == chain.lock()["stages"]["train"]["outs"]["model.pkl"]["hash"]


def test_data_checkout_rev_restores_an_older_runs_outputs(cli, chain):
    run_json(cli)
    commit_all(chain.root, "C=1")
    first = chain.read("model.pkl")
    chain.params({"prepare": {"split": 0.2}, "train": {"C": 5.0, "seed": 7}})
    run_json(cli)
    commit_all(chain.root, "C=5")
    assert chain.read("model.pkl") != first
    res = cli("data", "checkout", "--rev", "HEAD~1", "model.pkl")
    assert res.exit_code == 0, res.stderr
    assert chain.read("model.pkl") == first
    git(chain.root, "checkout", "HEAD~1", "--", "params.yaml", "pipeline.lock")
    res = cli("pipeline", "status", "--json")
    stale = [s["stage"] for s in res.json()["stages"] if s["state"] == "stale"]
    assert stale == ["evaluate"]  # its outputs still hold the C=5 run's results
    assert outcomes(run_json(cli)) == {"prepare": "up-to-date", "train": "up-to-date", "evaluate": "restored",
                                       "report": "up-to-date"}


def test_a_clone_restores_pushed_runs_instead_of_running(cli, chain, tmp_path, monkeypatch):
    remote = tmp_path / "remote"
    assert cli("remote", "add", "origin", str(remote), "--default").exit_code == 0
    assert cli("data", "add", "data/raw").exit_code == 0
    run_json(cli)
    chain.params({"prepare": {"split": 0.2}, "train": {"C": 2.0, "seed": 7}})
    run_json(cli)
    commit_all(chain.root, "C=2")
    assert cli("data", "push").exit_code == 0
    pushed = cli("pipeline", "push", "--json")
    assert pushed.exit_code == 0 and pushed.json()["entries"] == 6 and not pushed.json()["skipped"]
    assert cli("pipeline", "push", "--json").json()["entries"] == 0  # already there

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(chain.root), str(clone))
    monkeypatch.chdir(clone)
    assert cli("data", "pull").exit_code == 0 and cli("data", "checkout").exit_code == 0
    assert cli("pipeline", "status").exit_code == 0  # pipeline.lock came with git
    pulled = cli("pipeline", "pull", "--json")
    assert pulled.exit_code == 0 and pulled.json()["entries"] == 6, pulled.stdout
    runs_before = chain.runs("train")
    (clone / "params.yaml").write_text((chain.root / "params.yaml").read_text().replace("2.0", "1.0"))
    report = run_json(cli)
    assert outcomes(report) == {"prepare": "up-to-date", "train": "restored", "evaluate": "restored",
                                "report": "up-to-date"}
    assert chain.runs("train") == runs_before


def test_pull_skips_entries_whose_outputs_the_remote_lacks(cli, project, tmp_path, monkeypatch):
    remote = tmp_path / "remote"
    cli("remote", "add", "origin", str(remote), "--default")
    project.pipeline({"s": {"cmd": "echo 1 > o.txt", "outs": ["o.txt"]}})
    run_json(cli)
    assert cli("pipeline", "push").exit_code == 0
    for path in (remote / "objects").rglob("*"):
        if path.is_file() and path.read_bytes() == b"1\n":
            path.chmod(0o644)
            path.unlink()
    commit_all(project.root, "run")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project.root), str(clone))
    monkeypatch.chdir(clone)
    res = cli("pipeline", "pull", "--json")
    assert res.exit_code == 0 and res.json()["entries"] == 0
    assert res.json()["skipped"][0]["stage"] == "s"
    assert not list(Repo(clone).refs.list("pipeline/runcache"))


def test_pipeline_run_is_one_tracking_run(cli, chain, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))
    chain.write("src/inner.py", "import mlctl\nwith mlctl.start_run() as r:\n    r.log_metric('inner_loss', 0.5)\n"
                                "open('inner.txt', 'w').write(r.id)\n")
    data = __import__("yaml").safe_load(chain.read("pipeline.yaml"))
    data["stages"]["inner"] = {"cmd": f"{sys.executable} src/inner.py", "deps": ["src/inner.py"], "outs": ["inner.txt"]}
    chain.write("pipeline.yaml", __import__("yaml").safe_dump(data, sort_keys=False))
    report = run_json(cli)
    run_id = report["run_id"]
    assert chain.read("inner.txt") == run_id
    run = cli("run", "show", run_id, "--json").json()
    assert run["status"] == "finished" and run["experiment"] == "pipeline"
    assert run["params"]["train.C"] == 1.0 and run["params"]["prepare.split"] == 0.2
    assert run["metrics"]["acc"] == 0.91 and run["metrics"]["inner_loss"] == 0.5
    assert "stage.train.duration_s" in run["metrics"]
    assert run["tags"]["stage.train.cache"] == "miss" and run["tags"]["stage.train.outcome"] == "ran"
    assert run["tags"]["out.model.pkl"] == chain.lock()["stages"]["train"]["outs"]["model.pkl"]["hash"]
    assert run["tags"]["dep.data/raw"] == chain.lock()["stages"]["prepare"]["deps"]["data/raw"]
    # what the stages wrote is the run's output, never data it used (it was, before issue 23)
    assert run["outputs"]["model.pkl"] == run["tags"]["out.model.pkl"] and "model.pkl" not in run["data"]
    assert run["outputs"]["data/prepared"] and "data/prepared" not in run["data"]
    assert "pipeline-report.json" in run["artifacts"]

    assert run_json(cli)["run_id"] is None  # nothing to do: nothing recorded
    chain.params({"prepare": {"split": 0.2}, "train": {"C": 3.0, "seed": 7}})
    run_json(cli)
    chain.params({"prepare": {"split": 0.2}, "train": {"C": 1.0, "seed": 7}})
    restored = cli("run", "show", run_json(cli)["run_id"], "--json").json()
    assert restored["tags"]["stage.train.cache"] == "hit" and restored["tags"]["stage.report.cache"] == "unchanged"


def test_pipeline_run_records_exactly_its_deps_as_data_and_outs_as_outputs(cli, project):
    project.write("wine.csv", "alcohol,target\n1,0\n2,1\n")
    project.write("other/notes.csv", "a\n1\n")
    project.write("lake/part/x.csv", "a\n1\n")
    assert cli("data", "add", "wine.csv", "other", "lake").exit_code == 0
    project.pipeline({"train": {"cmd": "cat wine.csv lake/part/x.csv > model.pkl", "deps": ["wine.csv", "lake/part/x.csv"],
                                "outs": ["model.pkl"]}})
    run = cli("run", "show", run_json(cli)["run_id"], "--json").json()
    pointers = {p["path"]: p["hash"] for p in cli("data", "list", "--json").json()}
    assert run["data"] == {"wine.csv": pointers["wine.csv"], "lake": pointers["lake"]}  # not other/, not model.pkl
    assert run["outputs"] == {"model.pkl": pointers["model.pkl"]}


def test_a_failed_pipeline_is_a_failed_run_with_the_log(cli, project):
    project.pipeline({"bad": {"cmd": "echo oops; exit 4", "outs": ["x"]}})
    report = run_json(cli, code=1)
    run = cli("run", "show", report["run_id"], "--json").json()
    assert run["status"] == "failed"
    assert run["tags"]["stage.bad.outcome"] == "failed"
    assert "logs/bad.log" in run["artifacts"]


def test_gc_keeps_run_cache_outputs_and_fsck_checks_them(cli, project):
    project.write("v.txt", "1")
    project.pipeline({"s": {"cmd": "cp v.txt o.txt; echo '{\"m\": 1}' > m.json", "deps": ["v.txt"],
                            "outs": ["o.txt"], "metrics": ["m.json"]}})
    run_json(cli)
    project.write("v.txt", "2")
    run_json(cli)
    gc = cli("gc", "--grace", "0s", "--json").json()
    assert gc["removed"] == 0, gc
    project.write("v.txt", "1")
    assert outcomes(run_json(cli)) == {"s": "restored"}
    assert cli("fsck").exit_code == 0
    digest = project.lock()["stages"]["s"]["outs"]["o.txt"]["hash"]
    damage_object(project.repo, digest, "missing")
    fsck = cli("fsck", "--json")
    assert fsck.exit_code == 1
    assert any("pipeline run-cache entry" in m["what"] and m["object"] == digest for m in fsck.json()["missing"])


def test_status_section(cli, chain):
    assert "pipeline" in cli("status", "--json").json()
    run_json(cli)
    section = cli("status", "--json").json()["pipeline"]
    last_ran = section.pop("last_ran")  # where each stage ran: test_where.py
    assert section == {"stages": 4, "stale": [], "error": None} and set(last_ran) == {"prepare", "train", "evaluate", "report"}
    chain.write("data/raw/c.csv", "x\n")
    section = cli("status", "--json").json()["pipeline"]
    assert [s["stage"] for s in section["stale"]] == ["prepare", "train", "evaluate"]
    assert section["stale"][0]["reasons"] == ["dep data/raw changed"]
    assert section["stale"][1]["reasons"] == ["upstream prepare will run"]
    human = cli("status")
    assert "4 stages, 3 stale" in human.stdout and "prepare: dep data/raw changed" in human.stdout
    chain.write("pipeline.yaml", "stages: [\n")
    res = cli("status", "--json")
    assert res.exit_code == 0 and "not valid YAML" in res.json()["pipeline"]["error"]


def test_no_pipeline_no_status_section(cli, repo):
    assert "pipeline" not in cli("status", "--json").json()
