"""add, push, pull and checkout of a folder big enough for worker processes: the same
bytes come back, the store is clean, and the work really ran in other processes. Also a
command killed mid-add with workers running: its workers go, its lock is free again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mlctl.store.fsck import iter_temp_files
from mlctl.store.workers import PROCESS_FROM
from tests.conftest import PROJECT, child_pids
from tests.data.conftest import start_add_until_staging, tree_bytes, write_tree

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")

FILES = PROCESS_FROM + 200

FLOW = """
import json, os, shutil, sys
from mlctl.store import workers
from mlctl.store.repo import find_repo
from mlctl.data.add import add
from mlctl.data.checkout import checkout
from mlctl.data.status import status
from mlctl.data.sync import fetch, push  # fetch: the checkout below is timed on its own

kinds = []
real_init = workers.FilePool.__init__
def recording_init(self, jobs, processes):
    real_init(self, jobs, processes)
    kinds.append(self.processes)
workers.FilePool.__init__ = recording_init

repo = find_repo()
report = {}
[pointer] = add(repo, ["data/many"], jobs=2).pointers
report["add"] = kinds[-1]
report["nfiles"] = pointer.nfiles
report["pushed"] = push(repo, ["data/many"], jobs=2).transferred
report["push"] = kinds[-2]  # the files' batch (the manifest goes alone, on threads)
shutil.rmtree(repo.root / ".mlctl" / "objects")
report["pulled"] = fetch(repo, ["data/many"], jobs=2).transferred
report["pull"] = kinds[-1]
shutil.rmtree(repo.root / "data" / "many")
report["written"] = len(checkout(repo, ["data/many"], jobs=2).written)
report["checkout"] = kinds[-1]
report["changed"] = status(repo).changed
print(json.dumps(report))
"""


def _python(code: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_add_push_pull_checkout_on_worker_processes(repo, mlctl_proc, tmp_path):
    files = {f"data/many/d{i % 7}/f{i:05d}.bin": os.urandom(100 + i % 997) for i in range(FILES)}
    files["data/many/d0/same-a.bin"] = files["data/many/d1/same-b.bin"] = b"twin content"
    write_tree(repo.root, files)
    before = tree_bytes(repo.root / "data/many")
    assert mlctl_proc("remote", "add", "shared", str(tmp_path / "remote"), "--default", cwd=repo.root).returncode == 0

    res = _python(FLOW, repo.root)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["add"] and report["push"] and report["pull"] and report["checkout"], report
    assert report["nfiles"] == len(files)
    assert report["pushed"] == report["pulled"] == len(set(files.values())) + 1  # + the manifest
    assert report["written"] == len(files) and report["changed"] is False
    assert tree_bytes(repo.root / "data/many") == before
    status = mlctl_proc("data", "status", "--json", cwd=repo.root)
    assert status.returncode == 0, status.stdout + status.stderr
    fsck = mlctl_proc("fsck", cwd=repo.root)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert list(iter_temp_files(repo)) == []
    remote_temps = [p for p in (tmp_path / "remote").rglob(".*") if ".tmp-" in p.name]
    assert remote_temps == []


def test_killed_add_takes_its_workers_along_and_frees_the_lock(repo, mlctl_proc):
    write_tree(repo.root, {f"data/big/f{i:05d}.bin": os.urandom(40_000) for i in range(3 * PROCESS_FROM)})
    proc = start_add_until_staging(repo, "-j", "2", "data/big")
    children = child_pids(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (repo.root / "data/big.mlctl").exists()
    assert children, "the add ran no worker processes"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in children):
        time.sleep(0.05)
    # the workers are gone, so the data lock they shared is free: the next add needs no wait
    res = mlctl_proc("data", "add", "data/big", cwd=repo.root, env={"MLCTL_LOCK_TIMEOUT": "5"})
    assert res.returncode == 0, res.stderr
    assert mlctl_proc("fsck", cwd=repo.root).returncode == 0
    assert mlctl_proc("gc", "--grace", "0s", cwd=repo.root).returncode == 0
    assert list(iter_temp_files(repo)) == []


def test_corrupt_objects_are_caught_by_workers_too(repo, mlctl_proc, tmp_path):
    write_tree(repo.root, {f"data/many/f{i:05d}.bin": os.urandom(64) for i in range(FILES)})
    run = lambda *args: mlctl_proc(*args, cwd=repo.root)  # noqa: E731
    assert run("remote", "add", "shared", str(tmp_path / "remote"), "--default").returncode == 0
    assert run("data", "add", "-j", "2", "data/many").returncode == 0
    assert run("data", "push", "-j", "2").returncode == 0
    objects = repo.root / ".mlctl" / "objects"

    local = _rot(sorted(p for p in objects.rglob("*") if p.is_file())[0])
    shutil.rmtree(repo.root / "data" / "many")
    res = run("data", "checkout", "-j", "2")
    assert res.returncode == 3 and f"object {local} is corrupt" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr

    remote = _rot(sorted(p for p in (tmp_path / "remote" / "objects").rglob("*") if p.is_file())[-1])
    for obj in objects.rglob("*"):
        os.chmod(obj, 0o755 if obj.is_dir() else 0o644)
    shutil.rmtree(objects)
    res = run("data", "pull", "-j", "2")
    assert res.returncode == 3 and f"object {remote} on remote shared is corrupt" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert " 0 corrupt" in run("fsck").stderr  # some objects are missing, none is corrupt


def _rot(path) -> str:
    """Damage an object in place; returns its digest."""
    os.chmod(path, 0o644)
    path.write_bytes(b"rotten")
    return path.parent.name + path.name


def test_ctrl_c_stops_the_add_and_its_workers_quietly(repo, mlctl_proc):
    write_tree(repo.root, {f"data/big/f{i:05d}.bin": os.urandom(40_000) for i in range(3 * PROCESS_FROM)})
    proc = start_add_until_staging(repo, "-j", "2", "data/big", stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
    children = child_pids(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, stderr = proc.communicate(timeout=60)
    assert children and proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["mlctl: error: interrupted"], stderr
    assert not (repo.root / "data/big.mlctl").exists()
    assert not any(os.path.exists(f"/proc/{pid}") for pid in children)
    assert mlctl_proc("gc", "--grace", "0s", cwd=repo.root).returncode == 0
    assert list(iter_temp_files(repo)) == []
