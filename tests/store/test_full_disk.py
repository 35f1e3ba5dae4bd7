"""Read-only commands on a full disk: `status` and `data status` read the databases
read-only and skip cache updates, instead of failing in SQLite (issue 18 item 10)."""

from __future__ import annotations

import os
import subprocess

import pytest

from mlctl.data.add import add
from mlctl.tracking import db as db_mod
from mlctl.tracking.writes import create_run

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="mounting a small tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs at tmp_path/disk, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    db_mod.forget_all()
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder) -> None:
    with open(folder / "filler", "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass


def test_read_only_commands_work_on_a_full_disk(cli, make_repo, small_disk, monkeypatch):
    repo = make_repo("disk/repo")
    monkeypatch.chdir(repo.root)
    (repo.root / "data").mkdir()
    for i in range(20):
        (repo.root / "data" / f"f{i}.txt").write_text(f"row {i}\n")
    add(repo, ["data"])
    create_run(repo, params={"lr": 1}, status="finished")
    assert cli("data", "status").exit_code == 0  # the stat cache is written now
    db_mod.forget_all()  # as a new process: nothing open, the WALs checkpointed away
    fill(small_disk)
    res = cli("data", "status")
    assert res.exit_code == 0, res.stderr
    assert "internal error" not in res.stderr
    res = cli("status", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["runs"]["count"] == 1
    (repo.root / "data/f3.txt").write_text("changed\n")
    res = cli("data", "status")
    assert res.exit_code == 1 and "f3.txt" in res.stdout, res.stderr
