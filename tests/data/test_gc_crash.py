"""SIGKILL gc at random points: the store stays consistent and a rerun finishes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from mlctl.data import api, manifest
from mlctl.store.gc import collect_roots
from tests.conftest import PROJECT
from tests.data.conftest import commit_all, write_tree

GARBAGE = 600


def _litter(repo, round_: int) -> None:
    """Unreferenced folder versions (manifests with their files) and loose objects."""
    for k in range(GARBAGE // 6):
        rows = [manifest.Entry(f"f{i}", repo.objects.put_bytes(f"{round_}/{k}/{i}".encode(), fsync=False), 7)
                for i in range(4)]
        manifest.store(repo.objects, rows)
        repo.objects.put_bytes(f"loose {round_}/{k}".encode(), fsync=False)
    (repo.tmp_dir / ".object.tmp-999999999-dead").write_bytes(b"partial")


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
    for round_ in range(20):
        _litter(repo, round_)
        proc = _gc_proc(repo)
        time.sleep(rng.uniform(0.3, 1.0) * full)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert referenced <= set(repo.objects.iter_hashes())
        res = cli("fsck", "--json")
        assert res.exit_code == 0, res.stdout
    res = cli("gc", "--grace", "0", "--json")
    assert res.exit_code == 0
    assert set(repo.objects.iter_hashes()) == referenced
    assert cli("data", "checkout", "--rev", "HEAD~1", "--force", "data").exit_code == 0
