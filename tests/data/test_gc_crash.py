"""SIGKILL gc at random points: the store stays consistent and a rerun finishes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from mlctl.data import api
from mlctl.store import tree
from mlctl.store.gc import collect_roots
from tests.conftest import PROJECT
from tests.data.conftest import commit_all, write_tree

GARBAGE = 480


def _litter(repo, round_: int) -> list[str]:
    """Unreferenced folder versions (manifests with their files) and loose objects."""
    made = []
    for k in range(GARBAGE // 6):
        rows = [tree.Entry(f"f{i}", repo.objects.put_bytes(f"{round_}/{k}/{i}".encode(), fsync=False), 7)
                for i in range(4)]
        made.append(repo.objects.put_bytes(tree.encode(rows), fsync=False))
        made.append(repo.objects.put_bytes(f"loose {round_}/{k}".encode(), fsync=False))
    (repo.tmp_dir / ".object.tmp-999999999-dead").write_bytes(b"partial")
    return made


def _wait_deleting(repo, watched: list[str], proc, timeout: float = 30) -> None:
    """Until gc has removed one of ``watched`` (its deletion phase has begun)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if not all(os.path.exists(repo.objects.path(d)) for d in watched):
            return
        time.sleep(0.002)


def _gc_proc(repo) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.Popen([sys.executable, "-m", "mlctl", "gc", "--grace", "0"], cwd=repo.root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_gc_killed_anywhere_leaves_a_clean_store(repo, cli):
    write_tree(repo.root, {f"data/f{i}.txt": f"kept {i}\n" for i in range(20)})
    api.add(repo, ["data"])
    commit_all(repo.root, "v1")
    write_tree(repo.root, {"data/f0.txt": "kept, second version\n"})
    api.add(repo, ["data"])
    commit_all(repo.root, "v2")
    referenced = collect_roots(repo)
    _litter(repo, -1)
    started = time.monotonic()
    assert _gc_proc(repo).wait(60) == 0
    full = time.monotonic() - started
    rng = random.Random(17)
    partial = 0
    for round_ in range(20):
        made = _litter(repo, round_)
        before = sum(1 for _ in repo.objects.iter_hashes())
        proc = _gc_proc(repo)
        if round_ % 4 == 0:  # while it starts, walks history and plans
            time.sleep(rng.uniform(0.2, 0.9) * full)
        else:  # while it deletes
            _wait_deleting(repo, rng.sample(made, 50), proc)
            time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        left = set(repo.objects.iter_hashes())
        assert referenced <= left
        partial += len(referenced) < len(left) < before
        res = cli("fsck", "--json")
        assert res.exit_code == 0, res.stdout
    assert partial >= 5  # the kills did land part-way through deleting
    res = cli("gc", "--grace", "0", "--json")
    assert res.exit_code == 0
    assert set(repo.objects.iter_hashes()) == referenced
    assert cli("data", "checkout", "--rev", "HEAD~1", "--force", "data").exit_code == 0
