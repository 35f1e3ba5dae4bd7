"""Two retrains at once, and a retrain killed mid-way: real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import run_mlctl
from tests.retrain.conftest import mlctl_env, patients, shifted


@pytest.fixture
def start():
    """start(project, *args) -> a `mlctl retrain cancer` process; at teardown one still
    running is killed with its stage, and every process's pipes are read and closed."""
    procs = []

    def run(project, *args) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "mlctl", "retrain", "cancer", *args], cwd=project.root,
                                env=mlctl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        procs.append(proc)
        return proc

    yield run
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def test_two_retrains_at_once_one_proceeds_the_other_exits_3(project, cli, start):
    project.params(sleep=6)  # the winner is still training when the loser starts, and after
    first, second = start(project, "--json"), start(project, "--json")
    loser = _first_to_exit(first, second, timeout=120)
    code, out, err = loser.returncode, *loser.communicate()
    assert code == 3, (code, out, err)
    error = json.loads(err)["error"]  # --json: the error is one JSON object on stderr
    assert error["code"] == 3 and out == ""
    assert error["message"].startswith("another retrain of cancer is running (pid ")
    # a dry run meanwhile reads the lock too (and never takes it)
    res = cli("retrain", "cancer", "--dry-run")
    assert res.exit_code == 0 and "note: another retrain of cancer is running right now" in res.stdout
    winner = first if loser is second else second
    assert winner.wait(timeout=180) == 0, winner.stderr.read()
    assert json.loads(winner.stdout.read())["outcome"] == "promoted" and project.production() == 1
    assert [e["action"] for e in project.history()] == ["promote"]


def _first_to_exit(*procs, timeout: float) -> subprocess.Popen:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                return proc
        time.sleep(0.05)
    raise AssertionError("neither retrain finished")


def test_a_retrain_killed_mid_pipeline_leaves_production_untouched(trained, start):
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


def test_sigterm_mid_pipeline_is_recorded_and_exit_130(trained, start):
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


def test_on_the_backend_a_retrain_in_another_clone_keeps_this_one_out(project, cli, backend, make_repo):
    """On a team backend the lock is the backend's: a retrain of the model in another clone
    (another machine: its file lock is not this clone's) makes this one exit 3 naming
    it, and a dry run says so; once it ends, this one proceeds."""
    if backend != "postgresql":
        pytest.skip("without a backend, clones are apart: the file lock is tested above")
    from mlctl.retrain.records import retrain_lock

    elsewhere = make_repo("elsewhere")  # on the same backend (MLCTL_BACKEND_URL)
    with retrain_lock(elsewhere, "cancer"):
        res = cli("retrain", "cancer")
        assert res.exit_code == 3
        assert f"another retrain of cancer is running (pid {os.getpid()} on " in res.stderr
        assert "note: another retrain of cancer is running right now" in cli("retrain", "cancer", "--dry-run").stdout
    assert cli("retrain", "cancer").exit_code == 0
