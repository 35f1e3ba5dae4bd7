"""A fresh `data checkout` killed with SIGKILL at random points: the rerun always
finishes (what the killed one was writing is its own, see data/journal.py), and a torn
file no journal names gets a hint that never records the damage."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

from mlctl.data.add import add
from tests.conftest import PROJECT
from tests.data.conftest import tree_bytes, write_tree

FILES = 300
KILLS = 10


def start_checkout(repo) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.Popen([sys.executable, "-m", "mlctl", "data", "checkout", "data/big"], cwd=repo.root,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after_files(proc, folder, count: int) -> None:
    """SIGKILL ``proc`` once ``folder`` holds ``count`` entries (or it has ended)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if sum(len(names) for _, _, names in os.walk(folder)) >= count:
                break
        except OSError:
            pass
        time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_rerun_after_a_killed_fresh_checkout_always_finishes(cli, repo):
    rng = random.Random(18)
    # files big enough (~100 KB) that a kill often lands inside a write
    write_tree(repo.root, {f"data/big/d{i % 7}/f{i:04d}.bin": rng.randbytes(rng.randint(40_000, 160_000))
                           for i in range(FILES)})
    add(repo, ["data/big"])
    expected = tree_bytes(repo.root / "data/big")
    for _ in range(KILLS):
        shutil.rmtree(repo.root / "data/big")
        proc = start_checkout(repo)
        kill_after_files(proc, repo.root / "data/big", rng.randint(1, FILES - 1))
        res = cli("data", "checkout", "data/big")
        assert res.exit_code == 0, res.stderr
        assert tree_bytes(repo.root / "data/big") == expected
    assert not (repo.dot / "journal" / "checkout.paths").exists()
    assert cli("fsck").exit_code == 0
    assert cli("data", "status").exit_code == 0


def test_a_torn_file_without_a_journal_is_never_suggested_for_add(cli, repo):
    """A checkout killed before journals existed (or after a crash lost it) leaves files
    shorter than their stored version; the hint names `checkout --force`, not `data add`."""
    write_tree(repo.root, {"data/raw/a.bin": b"a" * 5000, "data/raw/b.bin": b"b" * 5000, "model.bin": b"m" * 100})
    add(repo, ["data/raw", "model.bin"])
    (repo.root / "data/raw/a.bin").write_bytes(b"")
    (repo.root / "data/raw/b.bin").write_bytes(b"b" * 100)
    res = cli("data", "checkout")
    assert res.exit_code == 2
    assert "data add" not in res.stderr
    assert "2 of them are shorter than their stored version" in res.stderr
    assert "`mlctl data checkout --force data/raw` restores them" in res.stderr
    (repo.root / "model.bin").write_bytes(b"m" * 200)  # a longer file: someone's edit, not ours
    (repo.root / "data/raw/b.bin").write_bytes(b"edited, longer than the stored five thousand bytes?" * 200)
    res = cli("data", "checkout")
    assert res.exit_code == 2 and "data add" not in res.stderr
    assert "1 of them are shorter" in res.stderr and "data/raw, model.bin hold other changes" in res.stderr
    assert "--force data/raw`" not in res.stderr
    assert (repo.root / "data/raw/b.bin").read_bytes().startswith(b"edited")  # nothing changed
