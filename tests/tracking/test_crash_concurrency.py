"""SIGKILL keeps what was flushed and reads back as killed; many writers lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from mlctl.tracking.runs import count_runs, get_run, list_runs
from tests.conftest import PROJECT, run_mlctl


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), MLCTL_FLUSH_INTERVAL="0.05")
    env.update(extra)
    return env


def _script(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_sigkill_keeps_flushed_points_and_reads_as_killed(repo, tmp_path):
    script = _script(tmp_path, "train.py", """
        import sys, time, mlctl
        run = mlctl.start_run(experiment="crash", params={"C": 1})
        print(run.id, flush=True)
        step = 0
        while True:
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            step += 1
            if step == 2000:
                time.sleep(0.5)  # several flush intervals: the first 2000 points are stored
                print("flushed", flush=True)
            if step % 100 == 0:
                time.sleep(0.001)
    """)
    with subprocess.Popen([sys.executable, str(script)], cwd=repo.root, env=_env(), stdout=subprocess.PIPE,
                          text=True) as proc:
        run_id = proc.stdout.readline().strip()
        assert proc.stdout.readline().strip() == "flushed"
        time.sleep(0.2)
        assert get_run(repo, run_id).status == "running"
        os.kill(proc.pid, signal.SIGKILL)
    run = get_run(repo, run_id)
    assert run.status == "killed" and run.end_time is not None
    steps = [s for s, _v, _t in run.metric_history("loss")]
    assert len(steps) >= 2000
    assert steps == list(range(len(steps)))  # whole flushes only: a prefix, never a hole
    assert run.metrics["loss"] == 1.0 / len(steps) and run.params == {"C": 1}
    fsck = run_mlctl("fsck", "--json", cwd=repo.root)
    assert fsck.returncode == 0, fsck.stdout


def test_killed_wrapper_leaves_a_killed_run(repo, tmp_path):
    script = _script(tmp_path, "slow.py", "import time\nprint('started', flush=True)\ntime.sleep(30)\n")
    with subprocess.Popen([sys.executable, "-m", "mlctl", "run", "log", "--id-file", str(tmp_path / "id"), "--",
                           sys.executable, str(script)], cwd=repo.root, env=_env(), stdout=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout.readline().strip() == "started"
        run_id = (tmp_path / "id").read_text().strip()
        assert get_run(repo, run_id).status == "running"
        os.kill(proc.pid, signal.SIGKILL)
    assert get_run(repo, run_id).status == "killed"
    assert [r.id for r in list_runs(repo, filter_expr="status == 'killed'")] == [run_id]


def test_eight_processes_logging_runs_lose_nothing(repo, tmp_path):
    script = _script(tmp_path, "writer.py", """
        import sys, mlctl
        worker = int(sys.argv[1])
        for i in range(25):
            params = {f"p{k}": k * i for k in range(10)}
            with mlctl.start_run(experiment="sweep", params=params, tags={"worker": worker}) as run:
                for step in range(100):
                    run.log_metrics({f"m{k}": step * k for k in range(5)}, step=step)
    """)
    procs = [subprocess.Popen([sys.executable, str(script), str(w)], cwd=repo.root, env=_env()) for w in range(8)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    runs = list_runs(repo, experiment="sweep")
    assert len(runs) == 200 and count_runs(repo, filter_expr="metrics.m4 == 396") == 200
    assert all(len(r.params) == 10 and r.status == "finished" for r in runs)
    assert {r.tags["worker"] for r in runs} == {str(w) for w in range(8)}
    assert all(len(r.metric_history("m3")) == 100 for r in runs[:20])


def test_wrapped_command_and_its_children_share_one_run(repo, tmp_path):
    child = _script(tmp_path, "child.py", """
        import sys, mlctl
        key = sys.argv[1]
        with mlctl.start_run() as run:
            for step in range(1500):
                run.log_metric(key, float(step), step=step)
    """)
    main = _script(tmp_path, "main.py", f"""
        import json, subprocess, sys, mlctl
        kids = [subprocess.Popen([sys.executable, {str(child)!r}, f"worker{{i}}"]) for i in range(3)]
        with mlctl.start_run(params={{"lr": 0.1}}) as run:
            for step in range(1500):
                run.log_metric("main", float(step), step=step)
        assert all(k.wait() == 0 for k in kids)
        json.dump({{"final": {{"acc": 0.875}}}}, open("metrics.json", "w"))
        print("done")
    """)
    proc = run_mlctl("run", "log", "-e", "wrapped", "-p", "batch=32", "--id-file", tmp_path / "id", "--",
                     sys.executable, main, cwd=repo.root, env={"MLCTL_FLUSH_INTERVAL": "0.05"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    run = get_run(repo, (tmp_path / "id").read_text().strip())
    assert run.status == "finished" and run.exit_code == 0
    assert run.params == {"batch": 32, "lr": 0.1}
    for key in ("main", "worker0", "worker1", "worker2"):
        assert len(run.metric_history(key)) == 1500 and run.metrics[key] == 1499.0
    assert run.metrics["final.acc"] == 0.875
    assert count_runs(repo) == 1
