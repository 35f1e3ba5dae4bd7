"""SIGKILL at random points of `mlctl push` and `mlctl pull` (20 times each): afterwards
the store is clean, nothing that is recorded (a run, a model version, a run-cache entry)
lacks its objects on either side, and a rerun finishes (issue 17)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from mlctl.store.fsck import fsck
from mlctl.store.repo import find_repo
from tests.conftest import PROJECT
from tests.sharing.conftest import clone_of, shared_project

KILLS = 20


def killed(args: list[str], cwd, delay: float) -> bool:
    """Start `mlctl ARGS` as a real process and SIGKILL it after ``delay`` seconds; True
    when the kill hit it still running."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30) == -signal.SIGKILL


def full_run(args: list[str], cwd) -> float:
    """How long an uninterrupted `mlctl ARGS` takes here and now: kill delays are drawn as
    fractions of it, so the kills land inside the run on a fast machine and a loaded one."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "mlctl", *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def damage(root) -> list[dict]:
    """What fsck finds besides workspace data not fetched yet (a killed pull may leave
    that; it is what the rerun is for): corrupt objects, and records lacking objects."""
    result = fsck(find_repo(root))
    return result.corrupt + [m for m in result.missing if not m.get("what", "").startswith("pointer ")]


@pytest.fixture
def project(cli, repo, tmp_path):
    shared_project(cli, repo.root, str(tmp_path / "remote"))
    return repo


def fresh_clone(cli, project, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    shutil.rmtree(clone, ignore_errors=True)
    clone_of(project.root, tmp_path)
    monkeypatch.chdir(clone)
    assert cli("init").exit_code == 0
    return clone


def test_killed_push_leaves_both_sides_consistent(cli, project, tmp_path, monkeypatch):
    rng = random.Random(17)
    started, hits = time.monotonic(), 0
    full = full_run(["push"], project.root)
    for _ in range(KILLS):
        shutil.rmtree(tmp_path / "remote", ignore_errors=True)  # a full push to interrupt each time
        hits += killed(["push"], project.root, rng.uniform(0.05, 0.95) * full)
        assert damage(project.root) == []
        fresh_clone(cli, project, tmp_path, monkeypatch)
        doc = cli("pull", "--all-commits", "--no-checkout", "--json").json()
        for part in ("runs", "pipeline", "registry"):  # the remote never names what it lacks
            assert doc["parts"][part]["error"] is None, doc["parts"][part]
        data_error = doc["parts"]["data"]["error"]
        assert data_error is None or any(w in data_error["message"] for w in ("lacks", "does not exist")), data_error
        assert damage(tmp_path / "clone") == []
        monkeypatch.chdir(project.root)
    assert cli("push").exit_code == 0  # the rerun finishes
    fresh_clone(cli, project, tmp_path, monkeypatch)
    assert cli("pull", "--all-commits").exit_code == 0
    assert fsck(find_repo(tmp_path / "clone")).ok
    assert time.monotonic() - started < 120 and hits >= KILLS // 2


def test_killed_pull_leaves_the_clone_consistent_and_a_rerun_finishes(cli, project, tmp_path, monkeypatch):
    assert cli("push").exit_code == 0
    rng = random.Random(71)
    started, hits = time.monotonic(), 0
    full = full_run(["pull", "--all-commits"], fresh_clone(cli, project, tmp_path, monkeypatch))
    for _ in range(KILLS):
        clone = fresh_clone(cli, project, tmp_path, monkeypatch)
        hits += killed(["pull", "--all-commits"], clone, rng.uniform(0.05, 0.95) * full)
        assert damage(clone) == []
        res = cli("pull", "--all-commits")
        assert res.exit_code == 0, res.stderr
        assert fsck(find_repo(clone)).ok
        assert (clone / "a.csv").read_text() == (project.root / "a.csv").read_text()
    assert time.monotonic() - started < 120 and hits >= KILLS // 2
