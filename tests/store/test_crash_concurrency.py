"""A writer killed at random points, and 8 writers at once: nothing lost, nothing torn."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

from mlctl.store.fsck import fsck
from tests.conftest import PROJECT

WRITER = r"""
import os, sys, json
sys.path.insert(0, {project!r})
from mlctl.store.repo import Repo
repo = Repo({root!r})
tag = sys.argv[1]
count = int(sys.argv[2])
for i in range(count):
    data = os.urandom(1000 + i * 37) * 20
    digest = repo.objects.put_bytes(data)
    repo.refs.write("test/head", digest)
    repo.refs.update_json("test/log", lambda log: log + [digest], default=[])
    repo.config.update(lambda c: c.setdefault("writers", {{}}).__setitem__(tag, i))
    if count > 1000:
        print("ready", flush=True)
"""


def _writer(repo, tag: str, count: int) -> subprocess.Popen:
    code = WRITER.format(project=str(PROJECT), root=str(repo.root))
    return subprocess.Popen([sys.executable, "-c", code, tag, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_writer_leaves_store_consistent(make_repo):
    repo = make_repo(use_git=False)
    rng = random.Random(1234)
    for attempt in range(50):
        with _writer(repo, "killed", 100000) as proc:  # the with closes its pipes
            proc.stdout.readline()  # the writer is past imports and mid-loop
            time.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGKILL)
        head = repo.refs.read("test/head")
        assert head is not None, attempt
        assert repo.objects.verify(head), f"attempt {attempt}: head points to an incomplete object"
        log = repo.refs.read_json("test/log")  # parses: never torn
        assert all(repo.objects.exists(d) for d in log)
        repo.config.load()  # parses: never torn
    result = fsck(repo)
    assert result.ok, result.to_json()
    assert result.objects_checked >= 50


def test_parallel_writers_lose_nothing(make_repo):
    repo = make_repo(use_git=False)
    procs = [_writer(repo, f"w{i}", 40) for i in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    log = repo.refs.read_json("test/log")
    assert len(log) == 8 * 40
    assert len(set(log)) == 8 * 40
    assert all(repo.objects.verify(d) for d in log)
    writers = repo.config.load()["writers"]
    assert writers == {f"w{i}": 39 for i in range(8)}
    assert fsck(repo).ok
