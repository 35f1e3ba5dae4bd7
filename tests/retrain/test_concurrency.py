"""Two retrains at once, and a retrain killed mid-way: real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd

from mlctl.retrain.records import is_locked
from tests.conftest import run_mlctl
from tests.retrain.conftest import mlctl_env, patients, shifted


def start(project, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mlctl", "retrain", "cancer", *args], cwd=project.root,
                            env=mlctl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_two_retrains_at_once_one_proceeds_the_other_exits_3(project):
    project.params(sleep=3)  # the winner is still training when the loser starts
    first, second = start(project, "--json"), start(project, "--json")
    results = [(p.wait(timeout=180), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    loser = next(r for r in results if r[0] == 3)
    assert loser[2].startswith("mlctl: error: another retrain of cancer is running (pid ")
    assert loser[1] == ""
    winner = json.loads(next(r for r in results if r[0] == 0)[1])
    assert winner["outcome"] == "promoted" and project.production() == 1
    assert [e["action"] for e in project.history()] == ["promote"]


def test_dry_run_while_a_retrain_runs_says_so(project):
    project.params(sleep=4)
    proc = start(project)
    try:
        deadline = time.monotonic() + 60
        while not is_locked(project.repo, "cancer") and time.monotonic() < deadline:
            time.sleep(0.05)
        res = run_mlctl("retrain", "cancer", "--dry-run", cwd=project.root)
        assert res.returncode == 0, res.stderr
        assert "note: another retrain of cancer is running right now" in res.stdout
    finally:
        assert proc.wait(timeout=120) == 0


def test_a_retrain_killed_mid_pipeline_leaves_production_untouched(trained):
    project = trained
    project.set_data(pd.concat([patients(), shifted(patients(), rows=300)], ignore_index=True))
    project.params(sleep=60)
    before = project.history()
    proc = start(project)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _stage_running(project.repo, proc.pid):
        time.sleep(0.05)
    assert _stage_running(project.repo, proc.pid), proc.stderr.read() if proc.poll() is not None else "no stage"
    os.killpg(proc.pid, signal.SIGKILL)  # the retrain and its stage, as a crashed CI job
    proc.wait(timeout=30)
    assert project.production() == 1 and project.versions() == [1]
    assert project.history() == before
    fsck = run_mlctl("fsck", cwd=project.root)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    # the lock died with the process: the next retrain runs and decides
    project.params()
    res = run_mlctl("retrain", "cancer", "--json", cwd=project.root)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["outcome"] == "promoted" and project.production() == 2


def _stage_running(repo, pid: int) -> bool:
    """The train stage of process ``pid`` has started: its log is in that run's log folder."""
    from mlctl.pipeline.logs import logs_root

    return any((folder / "train.log").exists() for folder in logs_root(repo).glob(f"*-{pid}"))


def test_sigterm_mid_pipeline_is_recorded_and_exit_130(trained):
    project = trained
    project.params(sleep=60)
    proc = start(project, "--force")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _stage_running(project.repo, proc.pid):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    entry = project.history()[-1]
    assert entry["action"] == "retrain-fail" and "interrupted" in entry["reason"]
    assert project.production() == 1 and project.versions() == [1]
