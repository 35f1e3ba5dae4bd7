"""Issue 18 item 11: killed pushes left `.tmp-*` files on a folder remote forever. Now a
later push removes the stale ones in the shards it writes, and `mlctl gc --remote`
removes them anywhere on the remote (never objects)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlctl.store.remote_fs import is_remote_temp
from tests.conftest import PROJECT
from tests.data.conftest import commit_all, write_tree

DAY = 86400


def _remote_temps(remote: Path) -> list[Path]:
    return [p for p in remote.rglob("*") if p.is_file() and is_remote_temp(p.name)]


def _remote_objects(remote: Path) -> set[str]:
    return {p.parent.name + p.name for p in (remote / "objects").glob("*/*") if not p.name.startswith(".")}


def _kill_push_midway(repo, remote: Path) -> None:
    """`mlctl data push` as a real process group, SIGKILLed once temps are on the remote."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", "data", "push", "-j", "8"], cwd=repo.root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not _remote_temps(remote):
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def _backdate(paths, seconds: float) -> None:
    past = time.time() - seconds
    for p in paths:
        os.utime(p, (past, past))


@pytest.fixture
def killed_push(repo, cli, tmp_path):
    """A repo whose push to folder remote `origin` was killed part-way: temps left there."""
    remote = tmp_path / "remote"
    assert cli("remote", "add", "origin", remote, "--default").exit_code == 0
    write_tree(repo.root, {f"data/{i:05d}.bin": os.urandom(2048) for i in range(1500)})
    assert cli("data", "add", "data").exit_code == 0
    commit_all(repo.root, "data")
    for _ in range(5):
        _kill_push_midway(repo, remote)
        if _remote_temps(remote):
            return remote
    pytest.fail("no push was killed while it had temps on the remote")


def test_a_later_push_removes_stale_temps_it_finds(repo, cli, killed_push):
    remote = killed_push
    temps = _remote_temps(remote)
    _backdate(temps, 2 * DAY)
    fresh = remote / "objects" / "ab" / ".cdef.tmp-123-abcd1234"  # maybe another push's, running now
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"in progress")
    assert cli("data", "push").exit_code == 0
    assert _remote_temps(remote) == [fresh]
    assert cli("data", "status").exit_code == 0
    assert _remote_objects(remote) >= set(repo.objects.iter_hashes())


def test_gc_remote_removes_only_stale_temps_never_objects(repo, cli, killed_push):
    remote = killed_push
    temps = _remote_temps(remote)
    objects, local = _remote_objects(remote), set(repo.objects.iter_hashes())
    res = cli("gc", "--remote", "--json")  # default grace 1d: the temps are fresh
    assert res.exit_code == 0 and res.json()["temp_removed"] == 0 and res.json()["kept_recent"] == len(temps)
    _backdate(temps[:1], 2 * DAY)
    res = cli("gc", "--remote", "origin", "--dry-run", "--json")
    assert res.json()["temp_files"] == [temps[0].relative_to(remote).as_posix()] and temps[0].exists()
    res = cli("gc", "--remote", "--grace", "0")
    assert res.exit_code == 0 and f"removed {len(temps)} stale temp files" in res.stdout
    assert _remote_temps(remote) == [] and _remote_objects(remote) == objects
    assert set(repo.objects.iter_hashes()) == local  # the local store is not touched


def test_gc_remote_on_s3(repo, cli, s3_bucket):
    import boto3

    assert cli("remote", "add", "origin", f"s3://{s3_bucket}/store", "--default").exit_code == 0
    (repo.root / "a.csv").write_text("a\n")
    assert cli("data", "add", "a.csv").exit_code == 0
    assert cli("data", "push").exit_code == 0
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    leftover = "store/objects/ab/cdef0123.tmp-4242-0badcafe"  # an interrupted non-atomic upload
    s3.put_object(Bucket=s3_bucket, Key=leftover, Body=b"partial")
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    res = cli("gc", "--remote", "--json")
    assert res.json()["temp_removed"] == 0 and res.json()["kept_recent"] == 1
    res = cli("gc", "--remote", "origin", "--grace", "0", "--json")
    assert res.exit_code == 0 and res.json()["temp_files"] == ["objects/ab/cdef0123.tmp-4242-0badcafe"]
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert after == before - {leftover}


def test_gc_remote_unknown_remote_is_exit_2(cli, repo):
    res = cli("gc", "--remote", "nope")
    assert res.exit_code == 2
