"""Real processes: parallel stages, Ctrl-C and SIGTERM, the repository lock, live progress on a TTY."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import PROJECT


SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def close_spawned():
    """After each test, a process spawn() started that still runs is killed, and every
    one's pipes are read and closed."""
    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def spawn(args, cwd, env=None, **kw):
    full_env = dict(os.environ, PYTHONPATH=str(PROJECT), **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", *args], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    SPAWNED.append(proc)
    return proc


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_independent_stages_run_in_parallel(cli, project):
    project.pipeline({name: {"cmd": f"sleep 1; echo {name} > {name}.txt", "outs": [f"{name}.txt"]}
                      for name in ("a", "b")})
    started = time.monotonic()
    assert cli("pipeline", "run", "-j", "2").exit_code == 0
    assert time.monotonic() - started < 1.8
    started = time.monotonic()
    assert cli("pipeline", "run", "-j", "1", "--force").exit_code == 0
    assert time.monotonic() - started >= 2.0


def test_dependent_stage_waits_for_its_upstream(cli, project):
    project.pipeline({
        "slow": {"cmd": "sleep 0.5; echo 1 > s.txt", "outs": ["s.txt"]},
        "next": {"cmd": "cp s.txt n.txt", "deps": ["s.txt"], "outs": ["n.txt"]},
    })
    assert cli("pipeline", "run", "-j", "4").exit_code == 0
    assert project.read("n.txt") == "1\n"


def fsck_clean(project) -> bool:
    fsck = subprocess.run([sys.executable, "-m", "mlctl", "fsck"], cwd=project.root,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT)), capture_output=True, text=True)
    return fsck.returncode == 0


def start_and_wait_for_pids(project, stages: dict, pidfiles: list):
    project.pipeline(stages)
    proc = spawn(["pipeline", "run", "-j", "2"], cwd=project.root)
    assert wait_for(lambda: all(p.exists() and p.read_text().strip() for p in pidfiles))
    return proc, [int(p.read_text()) for p in pidfiles]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_children_promptly_and_caches_nothing(project, sig):
    pidfile = project.root.parent / "child.pid"
    proc, (child,) = start_and_wait_for_pids(project, {
        "long": {"cmd": f"echo $$ > {pidfile}; echo partial > out.txt; sleep 60; echo done >> out.txt",
                 "outs": ["out.txt"]},
        "quick": {"cmd": "echo q > q.txt", "outs": ["q.txt"]},
    }, [pidfile])
    started = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 2.5
    assert not alive(child)
    assert "mlctl: error: interrupted" not in err or "long: interrupted" in err
    entries = list(project.repo.refs.list("pipeline/runcache"))
    assert len(entries) == 1  # `quick` finished before the interrupt; `long` left nothing
    assert "long" not in project.lock()["stages"]
    assert fsck_clean(project)


def test_interrupt_escalates_for_children_that_ignore_sigint(project):
    """A shell's background jobs ignore SIGINT; SIGTERM follows after a grace period."""
    pidfile = project.root.parent / "bg.pid"
    proc, (grandchild,) = start_and_wait_for_pids(project, {
        "bg": {"cmd": f"sleep 60 & echo $! > {pidfile}; wait", "outs": ["o.txt"]},
    }, [pidfile])
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert 2.5 < time.monotonic() - started < 8
    assert not alive(grandchild)
    assert not list(project.repo.refs.list("pipeline/runcache")) and fsck_clean(project)


@pytest.mark.slow
def test_a_stage_ignoring_sigint_is_terminated_then_killed(project):
    pidfile = project.root.parent / "stubborn.pid"
    project.pipeline({"stubborn": {"cmd": f"trap '' INT TERM; echo $$ > {pidfile}; while true; do sleep 0.1; done",
                                   "outs": ["x.txt"]}})
    proc = spawn(["pipeline", "run"], cwd=project.root)
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert not alive(int(pidfile.read_text()))


def test_second_run_waits_then_exits_3_naming_the_holder(project):
    marker = project.root.parent / "started"
    project.pipeline({"hold": {"cmd": f"touch {marker}; sleep 3; echo > h.txt", "outs": ["h.txt"]}})
    first = spawn(["pipeline", "run"], cwd=project.root)
    assert wait_for(marker.exists)
    second = spawn(["pipeline", "run"], cwd=project.root, env={"MLCTL_LOCK_TIMEOUT": "0.5"})
    out, err = second.communicate(timeout=20)
    assert second.returncode == 3
    assert err.splitlines()[-2].startswith("mlctl: error: another `mlctl pipeline run` is running in this repository (pid ")
    assert "waiting for another `mlctl pipeline run`" in err
    assert first.wait(timeout=20) == 0


def test_second_run_that_waits_long_enough_proceeds(project):
    marker = project.root.parent / "started"
    project.pipeline({"hold": {"cmd": f"touch {marker}; sleep 1; echo > h.txt", "outs": ["h.txt"]}})
    first = spawn(["pipeline", "run"], cwd=project.root)
    assert wait_for(marker.exists)
    second = spawn(["pipeline", "run", "--json"], cwd=project.root, env={"MLCTL_LOCK_TIMEOUT": "20"})
    out, err = second.communicate(timeout=30)
    assert first.wait(timeout=20) == 0
    assert second.returncode == 0, err
    assert '"outcome": "up-to-date"' in out


def test_stages_get_the_run_id_and_stage_name(cli, project):
    project.pipeline({"env": {"cmd": "echo $MLCTL_RUN_ID $MLCTL_STAGE > env.txt", "outs": ["env.txt"]}})
    res = cli("pipeline", "run", "--json")
    run_id = res.json()["run_id"]
    assert run_id and project.read("env.txt").split() == [run_id, "env"]


def test_live_progress_on_a_terminal(project):
    project.pipeline({"a": {"cmd": "echo working on it; sleep 0.5; echo > a.txt", "outs": ["a.txt"]},
                      "b": {"cmd": "echo > b.txt", "deps": ["a.txt"], "outs": ["b.txt"]}})
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(PROJECT), COLUMNS="120")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", "pipeline", "run"], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=20)
    os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "\x1b[" in screen  # rich drew on the terminal
    assert "working on it" in screen and "running" in screen
    assert "ran" in screen and "pipeline done in" in screen
    with proc.stdout:
        assert proc.stdout.read().splitlines()[0].split()[:2] == ["stage", "outcome"]  # stdout is a pipe here


def _group_gone(group: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.killpg(group, signal.SIGKILL)  # do not leave it behind
    return False


def test_a_killed_pipeline_run_leaves_a_usable_repository(project):
    """SIGKILL cannot be caught: the flock dies with mlctl, the store stays consistent, and
    the next run redoes only what was not finished."""
    pidfile = project.root.parent / "orphan.pid"
    project.write("in.txt", "1\n")
    project.pipeline({
        "first": {"cmd": "cp in.txt first.txt", "deps": ["in.txt"], "outs": ["first.txt"]},
        "slow": {"cmd": f"echo $$ > {pidfile}; sleep 30; cp first.txt slow.txt", "deps": ["first.txt"],
                 "outs": ["slow.txt"]},
    })
    proc = spawn(["pipeline", "run"], cwd=project.root)
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
    proc.kill()
    proc.wait(timeout=10)
    assert _group_gone(int(pidfile.read_text()), within=5)  # its guard killed the orphaned stage
    assert fsck_clean(project)
    project.pipeline({
        "first": {"cmd": "cp in.txt first.txt", "deps": ["in.txt"], "outs": ["first.txt"]},
        "slow": {"cmd": "cp first.txt slow.txt", "deps": ["first.txt"], "outs": ["slow.txt"]},
    })
    again = spawn(["pipeline", "run", "--json"], cwd=project.root, env={"MLCTL_LOCK_TIMEOUT": "2"})
    out, err = again.communicate(timeout=30)
    assert again.returncode == 0, err
    outcomes = {s["stage"]: s["outcome"] for s in json.loads(out)["stages"]}
    assert outcomes == {"first": "restored", "slow": "ran"}  # first's run-cache entry survived the kill
