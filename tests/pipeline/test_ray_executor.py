"""The Ray executor against a real local Ray cluster (a head with 2 CPUs and a separate
worker node, started here and stopped by PID), with the moto S3 server as the remote and
each task's scratch folder outside the repository: no shared filesystem is assumed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git, one_error
from tests.data.conftest import free_port

ray = pytest.importorskip("ray")

TRAIN = "echo lr=$1 depth=$2 $(cat data/prepared/rows.txt) > $3; echo '{\"acc\": '$2'}' > $4; echo trained $1 $2"
STAGES = {
    "prepare": {"cmd": "mkdir -p data/prepared && sort data/raw.txt > data/prepared/rows.txt",
                "deps": ["data/raw.txt"], "outs": ["data/prepared"]},
    "train": {"matrix": {"lr": [0.1, 0.2, 0.3], "depth": [1, 2]},
              "cmd": "sh code/train.sh ${item.lr} ${item.depth} models/m-${item.lr}-${item.depth}.txt "
                     "metrics/m-${item.lr}-${item.depth}.json",
              "deps": ["code/train.sh", "data/prepared"],
              "outs": ["models/m-${item.lr}-${item.depth}.txt"],
              "metrics": ["metrics/m-${item.lr}-${item.depth}.json"]},
    # metrics/, not models/: a folder of tracked outs also holds their pointers and a .gitignore
    # whose line order is the order the instances finished in, under either executor
    "select": {"cmd": "cat metrics/*.json | sort | tail -1 > best.txt", "deps": ["metrics"], "outs": ["best.txt"]},
}


def make_project(make_repo, cli, name: str, remote: str, workdir: Path, stages=STAGES):
    import yaml

    repo = make_repo(name)
    (repo.root / "data").mkdir()
    (repo.root / "data/raw.txt").write_text("b\na\nc\n")
    (repo.root / "code").mkdir()
    (repo.root / "code/train.sh").write_text(TRAIN + "\n")
    (repo.root / "pipeline.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    os.chdir(repo.root)
    assert cli("remote", "add", "store", remote, "--default").exit_code == 0
    assert cli("config", "set", "pipeline.ray_workdir", str(workdir)).exit_code == 0
    return repo


def _content(path: Path):
    """A file's bytes; a .gitignore's lines as a set (appended in the order stages finish)."""
    return set(path.read_text().splitlines()) if path.name == ".gitignore" else path.read_bytes()


def snapshot(repo) -> dict:
    """Every output's bytes, the lock, and the run-cache entries (without their times)."""
    import yaml

    from mlctl.pipeline import runcache

    files = {p.relative_to(repo.root).as_posix(): _content(p)
             for d in ("models", "metrics", "data/prepared") for p in sorted((repo.root / d).rglob("*")) if p.is_file()}
    files["best.txt"] = (repo.root / "best.txt").read_bytes()
    lock = yaml.safe_load((repo.root / "pipeline.lock").read_text())
    entries = {}
    for fingerprint, stage in ((s["fingerprint"], name) for name, s in lock["stages"].items()):
        entry = runcache.lookup(repo, fingerprint).to_json()
        entry.pop("created", None)
        entry.pop("duration", None)
        entries[stage] = entry
    return {"files": files, "lock": lock, "runcache": entries}


def test_ray_run_matches_local_and_a_clone_restores_without_ray(make_repo, cli, s3_remote, ray_cluster, workdir,
                                                                  monkeypatch):
    local = make_project(make_repo, cli, "local", s3_remote + "-local", workdir)
    res = cli("pipeline", "run", "-j", "2", "--json")
    assert res.exit_code == 0, res.stderr
    expected = snapshot(local)

    remote = make_project(make_repo, cli, "onray", s3_remote, workdir)
    res = cli("pipeline", "run", "--executor", "ray", "--address", ray_cluster, "--json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    ran = [s for s in report["stages"] if s["outcome"] == "ran"]
    assert len(ran) == 8 and {s["executor"] for s in ran} == {"ray"}
    cluster_nodes = {n["NodeID"][:12] for n in ray.nodes()}
    assert len(cluster_nodes) == 2 and all(s["node"][-13:-1] in cluster_nodes for s in ran)  # "IP (node id)"
    last_ran = {s["name"]: s["last_ran"] for s in cli("pipeline", "show", "--json").json()["stages"]}
    assert {(n, e["executor"], e["node"]) for n, e in last_ran.items()} == {(s["stage"], "ray", s["node"]) for s in ran}
    got = snapshot(remote)
    assert got == expected  # same outputs, hashes, lock and run-cache entries
    assert [p.name for p in workdir.iterdir()] == ["mlctl-cache"]  # every scratch folder removed
    # the node cache kept the deps and outputs for the next tasks: code/train.sh's object
    # was pulled once a node, not once an instance
    cached = {p.parent.name + p.name for p in (workdir / "mlctl-cache/objects").glob("*/*")}
    assert got["lock"]["stages"]["train@lr=0.1,depth=1"]["deps"]["code/train.sh"] in cached
    log = (remote.root / report["log_dir"] / "train@lr=0.1,depth=1.log").read_text()
    assert "trained 0.1 1" in log
    # the last line says where the task's time went, every phase named
    assert re.fullmatch(r"ray task: ship [0-9.]+ s, connect [0-9.]+ s, wait [0-9.]+ s, materialize [0-9.]+ s, "
                        r"command [0-9.]+ s, store [0-9.]+ s, return [0-9.]+ s, fetch [0-9.]+ s", log.splitlines()[-1])

    # a second clone: the run-cache entries travel with `pipeline push`; every stage is a
    # hit, so an unreachable cluster address is never dialled
    assert cli("data", "push").exit_code == 0
    assert cli("pipeline", "push").exit_code == 0
    git(remote.root, "add", "-A")
    git(remote.root, "commit", "-qm", "pipeline")
    clone = remote.root.parent / "clone"
    git(remote.root.parent, "clone", "-q", str(remote.root), str(clone))
    os.chdir(clone)
    from mlctl.store.repo import init_repo

    init_repo(clone)
    assert cli("remote", "add", "store", s3_remote, "--default", "--force").exit_code == 0
    assert cli("pipeline", "pull").exit_code == 0
    (clone / "pipeline.lock").unlink()  # nothing up to date: every stage must come from the run-cache
    ray.shutdown()
    res = cli("pipeline", "run", "--executor", "ray", "--address", "ray://127.0.0.1:1", "--json")
    assert res.exit_code == 0, res.stderr
    assert {s["outcome"] for s in res.json()["stages"]} == {"restored"}
    assert not ray.is_initialized()
    assert (clone / "best.txt").read_bytes() == expected["files"]["best.txt"]


def test_failing_instance_skips_only_its_dependents_and_retries_run_again(make_repo, cli, s3_remote, ray_cluster,
                                                                          workdir, tmp_path):
    marker = tmp_path / "attempted"
    stages = {
        "train": {"foreach": ["good", "bad"], "cmd": "test ${item} = good && echo ok > out-${item}.txt",
                  "outs": ["out-${item}.txt"]},
        "use": {"foreach": ["good", "bad"], "cmd": "cp out-${item}.txt use-${item}.txt", "deps": ["out-${item}.txt"],
                "outs": ["use-${item}.txt"]},
        # fails on its first attempt only (the marker is on this machine: a test's shortcut)
        "flaky": {"cmd": f"test -e {marker} || {{ touch {marker}; exit 4; }}; pwd > where.txt", "retries": 1,
                  "outs": ["where.txt"], "resources": {"cpu": 1, "memory": "512MB"}},
    }
    repo = make_project(make_repo, cli, "fail", s3_remote, workdir, stages)
    one_error(cli("config", "set", "pipeline.ray_cache", "lots"), 2, "pipeline.ray_cache")
    assert cli("config", "set", "pipeline.ray_cache", "0").exit_code == 0  # no node cache
    res = cli("pipeline", "run", "--executor", "ray", "--address", ray_cluster, "--json")
    assert res.exit_code == 1 and list(workdir.iterdir()) == []
    outcomes = {s["stage"]: s["outcome"] for s in res.json()["stages"]}
    assert outcomes == {"train@good": "ran", "train@bad": "failed", "use@good": "ran", "use@bad": "skipped",
                        "flaky": "ran"}
    flaky = next(s for s in res.json()["stages"] if s["stage"] == "flaky")
    assert flaky["attempts"] == 2
    ran_in = (repo.root / "where.txt").read_text().strip()
    assert ran_in.startswith(str(workdir)) and not ran_in.startswith(str(repo.root))  # not in the repository


def test_a_killed_worker_is_retried_by_ray(make_repo, cli, s3_remote, ray_cluster, workdir, tmp_path):
    marker = tmp_path / "killed-once"
    # the first attempt kills the Ray worker process running it (the command's parent), once
    # its guard is up (it starts beside the command: a death in the command's first
    # milliseconds is the one window it leaves, docs/pipeline.md)
    stages = {"victim": {"cmd": f"test -e {marker} || {{ echo $$ > {marker}; sleep 0.5; kill -9 $PPID; sleep 60; }}; "
                                "echo ok > v.txt",
                         "outs": ["v.txt"]}}
    repo = make_project(make_repo, cli, "killed", s3_remote, workdir, stages)
    res = cli("pipeline", "run", "--executor", "ray", "--address", ray_cluster, "--json")
    assert res.exit_code == 0, res.stderr
    assert marker.exists() and (repo.root / "v.txt").read_text() == "ok\n"
    assert _ended(int(marker.read_text()), 10), "the first attempt's command outlived its worker"  # its guard


def _ended(pid: int, within: float) -> bool:
    """Whether process ``pid`` ended within ``within`` seconds: gone, or a zombie (dead; its
    worker died too, so reaping it is up to whoever adopted it)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.1)
    return False


def test_without_the_extra_the_ray_executor_is_a_usage_error(project):
    project.pipeline({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    code = ("import sys, runpy; sys.modules['ray'] = None; "
            "sys.argv = ['mlctl', 'pipeline', 'run', '--executor', 'ray']; runpy.run_module('mlctl', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2])))

    class Res:
        exit_code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr

    one_error(Res, 2, "ray", "mlctl[ray]")
    assert not (project.root / "a.txt").exists()


def test_an_unreachable_cluster_is_one_error_at_once(project, cli, tmp_path):
    """Ray's own connect retries for minutes and logs a warning every few seconds; mlctl
    checks the port first, fails the first stage, starts no more, and exits 2 with one line."""
    project.pipeline({"a": {"foreach": [1, 2, 3, 4], "cmd": "echo ${item} > a-${item}.txt", "outs": ["a-${item}.txt"]}})
    assert cli("remote", "add", "store", str(tmp_path / "remote"), "--default").exit_code == 0
    port = free_port()  # nothing listens there
    started = time.monotonic()
    res = cli("pipeline", "run", "-j", "1", "--executor", "ray", "--address", f"127.0.0.1:{port}")
    assert time.monotonic() - started < 15
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines()[-2] == (f"mlctl: error: cannot connect to Ray at 127.0.0.1:{port}: "
                                                   f"nothing answers at 127.0.0.1:{port} (Connection refused)")
    assert "gcs_client" not in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("failed (cannot connect") == 1  # the first stage only: no more were started
    assert not (project.root / "pipeline.lock").exists() and not list(project.root.glob("a-*.txt"))


@pytest.mark.parametrize("address", ["nonsense", "host:", ":8000", "ray://h:99999"])
def test_a_malformed_address_is_refused_before_anything_runs(project, cli, tmp_path, address):
    project.pipeline({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    assert cli("remote", "add", "store", str(tmp_path / "remote"), "--default").exit_code == 0
    one_error(cli("pipeline", "run", "--executor", "ray", "--address", address), 2, "invalid Ray address")
    assert not (project.root / "a.txt").exists()
    one_error(cli("config", "set", "pipeline.ray_address", address), 2, "pipeline.ray_address")


def test_unknown_executor_is_a_usage_error(project, cli):
    project.pipeline({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    one_error(cli("pipeline", "run", "--executor", "slurm"), 2, "unknown executor 'slurm'")
    one_error(cli("config", "set", "pipeline.executor", "slurm"), 2)


def test_resources_and_retries_are_checked(project, cli):
    project.pipeline({"a": {"cmd": "true", "resources": {"memory": "lots"}}})
    one_error(cli("pipeline", "run"), 2, "stages.a.resources.memory")
    project.pipeline({"a": {"cmd": "true", "retries": -1}})
    one_error(cli("pipeline", "run"), 2, "stages.a.retries")


def test_retries_apply_to_the_local_executor(project, cli, tmp_path):
    marker = tmp_path / "once"
    project.pipeline({"a": {"cmd": f"test -e {marker} || {{ touch {marker}; exit 3; }}; echo a > a.txt",
                            "outs": ["a.txt"], "retries": 2}})
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0, res.stderr
    stage = res.json()["stages"][0]
    assert (stage["outcome"], stage["attempts"], stage["executor"]) == ("ran", 2, "local")



def _gone(pid: int, within: float) -> bool:
    """Whether process ``pid`` is gone (ended and reaped: a zombie left in a Ray worker
    still counts as there) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("presses", [1, 2])  # the second forces the cancel: Ray kills the worker
def test_ctrl_c_cancels_the_ray_task_and_records_nothing_half_written(make_repo, cli, s3_remote, ray_cluster, workdir,
                                                                       tmp_path, presses):
    pidfile = tmp_path / "slow.pid"  # outside the repository: the command's own pid, on the worker
    stages = {"quick": {"cmd": "echo q > q.txt", "outs": ["q.txt"]},
              "slow": {"cmd": f"echo $$ > {pidfile}; echo started; exec sleep 120", "outs": ["s.txt"]}}
    repo = make_project(make_repo, cli, "ctrlc", s3_remote, workdir, {"quick": stages["quick"]})
    assert cli("pipeline", "run").exit_code == 0
    lock = (repo.root / "pipeline.lock").read_bytes()
    entries = sorted(repo.refs.list("pipeline/runcache"))
    import yaml

    (repo.root / "pipeline.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", "pipeline", "run", "--executor", "ray", "--address",
                             ray_cluster, "--json"], cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 90
        while not (pidfile.exists() and pidfile.read_text().strip()) and proc.poll() is None:
            assert time.monotonic() < deadline, "the stage never started"
            time.sleep(0.1)
        pid = int(pidfile.read_text())
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err  # the local executor's rule: interrupted is 130
    slow = next(s for s in json.loads(out)["stages"] if s["stage"] == "slow")
    assert (slow["outcome"], slow["executor"]) == ("interrupted", "ray")
    assert _gone(pid, 10), "the stage's command still runs on the worker"  # with its worker killed: its guard
    assert (repo.root / "pipeline.lock").read_bytes() == lock  # nothing recorded for slow
    assert sorted(repo.refs.list("pipeline/runcache")) == entries  # no run-cache entry
    assert not (repo.root / "s.txt").exists()


def test_a_ray_stage_output_streams_back_while_it_runs(make_repo, cli, s3_remote, ray_cluster, workdir, tmp_path):
    from mlctl.pipeline.api import Observer, run

    marker = tmp_path / "first-line-seen"  # created by the driver when the first line arrives
    stages = {"talk": {"cmd": f"echo first; i=0; while [ ! -e {marker} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); "
                              f"done; test -e {marker} && echo last > talk.txt", "outs": ["talk.txt"]}}
    repo = make_project(make_repo, cli, "live", s3_remote, workdir, stages)
    seen = []

    class Watch(Observer):
        def stage_output(self, stage, line):
            seen.append((stage, line))
            if line == "first":
                marker.touch()  # the stage can only end after this: its line came before its end

    report = run(repo, executor="ray", address=ray_cluster, observer=Watch())
    assert report.ok, report.to_json()
    assert seen == [("talk", "first")]  # once: streamed, not replayed from the log at the end
    assert "first" in (repo.root / report.log_dir / "talk.log").read_text()


def test_without_a_reader_of_live_lines_nothing_is_polled(make_repo, cli, s3_remote, ray_cluster, workdir,
                                                           monkeypatch):
    """No -v (or retrain): the driver does not poll the log channel beside the commands;
    the log still comes back whole."""
    from mlctl.pipeline import ray_executor
    from mlctl.pipeline.api import Observer, run

    def polled(*args, **kwargs):
        raise AssertionError("polled the live-log channel with nobody reading the lines")

    monkeypatch.setattr(ray_executor, "wait_polling", polled)
    repo = make_project(make_repo, cli, "quiet", s3_remote, workdir,
                        {"talk": {"cmd": "echo hello > talk.txt; echo said", "outs": ["talk.txt"]}})

    class Quiet(Observer):
        wants_lines = False

    report = run(repo, executor="ray", address=ray_cluster, observer=Quiet())
    assert report.ok, report.to_json()
    assert "said" in (repo.root / report.log_dir / "talk.log").read_text()


LOGGER = """import sys
import mlctl
with mlctl.start_run() as run:
    run.log_param("seed", 7)
    for step in range(3):
        run.log_metric("loss", 1.0 / (step + 1))
    run.log_metric("odd", float("nan"), step=10)
    run.set_tag("phase", sys.argv[1])
    weights = "weights-" + sys.argv[1] + ".bin"  # a sweep's instances run at once in one folder locally
    with open(weights, "w") as f:
        f.write(sys.argv[1])
    run.log_artifact(weights, name="w/" + sys.argv[1])
open(sys.argv[2], "w").write("done")
"""


def _logged_runs(repo) -> dict:
    """Each run of the last pipeline run (its own and its sweep's children) by name: what
    a script logged, without ids, times and the machine it ran on."""
    from mlctl.tracking import ids, values
    from mlctl.tracking.artifact_trees import artifact_map
    from mlctl.tracking.db import database
    from mlctl.tracking.records import export_record

    with database(repo).read() as conn:
        rows = conn.execute("SELECT id FROM runs ORDER BY id").fetchall()
    out = {}
    for (run_id,) in rows:
        record = json.loads(export_record(repo, run_id))
        assert ids.is_run_id(record["id"])
        points = {k: [[step, value] for step, _ts, value in v] for k, v in record["points"].items()
                  if not k.startswith("stage.")}
        tags = {k: v for k, v in record["tags"].items() if k in ("phase", "mlctl.stage", "mlctl.sweep")}
        out[record["name"]] = {"params": record["params"], "points": values.dumps(points), "tags": tags,
                               "artifacts": {k: v for k, v in artifact_map(repo, record["artifacts"]).items()
                                             if k.startswith("w/")},  # not the pipeline's report and logs
                               "python": bool(record["env"].get("python"))}
    return out


def test_a_script_on_a_ray_worker_logs_into_its_run_as_locally(make_repo, cli, s3_remote, ray_cluster, workdir):
    stages = {"fit": {"foreach": ["a", "b"], "cmd": f"{sys.executable} code/log.py ${{item}} fit-${{item}}.txt",
                      "deps": ["code/log.py"], "outs": ["fit-${item}.txt"]},
              "solo": {"cmd": f"{sys.executable} code/log.py solo solo.txt", "deps": ["code/log.py"],
                       "outs": ["solo.txt"]}}
    logged = {}
    for name, executor in (("local-log", []), ("ray-log", ["--executor", "ray", "--address", ray_cluster])):
        repo = make_project(make_repo, cli, name, f"{s3_remote}-{name}", workdir, stages)
        (repo.root / "code/log.py").write_text(LOGGER)
        res = cli("pipeline", "run", *executor, "--json")
        assert res.exit_code == 0, res.stderr
        logged[name] = _logged_runs(repo)
    fit_a = logged["ray-log"]["fit@a"]
    assert fit_a["params"] == {"item": "a", "seed": 7} and fit_a["tags"]["phase"] == "a"
    assert json.loads(fit_a["points"])["loss"] == [[0, 1.0], [1, 0.5], [2, 1.0 / 3]]
    assert list(fit_a["artifacts"]) == ["w/a"] and fit_a["python"]  # and the worker's interpreter
    assert logged["ray-log"] == logged["local-log"]  # the same params, points, tags and artifact trees
    assert [p.name for p in workdir.iterdir()] == ["mlctl-cache"]



def test_deps_shared_by_a_sweep_are_pushed_once_a_run(project, cli, tmp_path, monkeypatch):
    """The code and params every instance ships are checked against the remote once, not
    per instance (with S3, a request per object per instance)."""
    import threading

    from mlctl.pipeline.ray_executor import RayExecutor
    from mlctl.store.transfer import RemoteStore

    assert cli("remote", "add", "store", str(tmp_path / "remote"), "--default").exit_code == 0
    project.write("code/train.py", "print(1)\n")
    project.write("data/a.txt", "a\n")
    pushed = []
    real = RemoteStore.push
    monkeypatch.setattr(RemoteStore, "push", lambda self, digests, *a, **k: pushed.append(list(digests))
                        or real(self, digests, *a, **k))
    executor = RayExecutor(project.repo, None, threading.Lock())
    first = executor._ship(["code/train.py", "data/a.txt"])
    again = executor._ship(["code/train.py", "data/a.txt"])
    assert first == again and len(pushed) == 1 and len(pushed[0]) == 2
    project.write("data/a.txt", "changed\n")  # a dep an upstream stage rewrote: its new object goes
    executor._ship(["code/train.py", "data/a.txt"])
    assert len(pushed) == 2 and len(pushed[1]) == 1
