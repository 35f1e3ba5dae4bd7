"""What runs record without being asked: git, data pointers, command, versions, host."""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path

import pytest

import mlctl
from mlctl.errors import UsageError
from mlctl.tracking import capture
from mlctl.tracking.runs import get_run
from tests.conftest import git

H1 = "11111111111111111111111111111111"
H2 = "22222222222222222222222222222222"


def _pointer(root, rel, digest):
    path = root / (rel + ".mlctl")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"path: {rel.rsplit('/', 1)[-1]}\nhash: {digest}\nsize: 10\nnfiles: 1\n")


def test_git_commit_and_dirty_flag(repo):
    (repo.root / "train.py").write_text("print(1)\n")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "first")
    head = git(repo.root, "rev-parse", "HEAD").strip()
    with mlctl.start_run() as clean:
        pass
    capture.clear_cache()
    (repo.root / "train.py").write_text("print(2)\n")
    with mlctl.start_run() as dirty:
        pass
    assert get_run(repo, clean.id).git == {"commit": head, "dirty": False}
    assert get_run(repo, dirty.id).git == {"commit": head, "dirty": True}


def test_outside_git_there_is_no_commit(make_repo, monkeypatch):
    repo = make_repo("plain", use_git=False)
    monkeypatch.chdir(repo.root)
    _pointer(repo.root, "data/raw.csv", H1)
    with mlctl.start_run() as run:
        pass
    stored = get_run(repo, run.id)
    assert stored.git == {"commit": None, "dirty": None}
    assert stored.data == {"data/raw.csv": H1}


def test_every_tracked_pointer_is_recorded_by_default(repo):
    _pointer(repo.root, "data/train.csv", H1)
    _pointer(repo.root, "images", H2)
    (repo.root / "images").mkdir()
    _pointer(repo.root / "images", "nested-not-tracked", H1)  # inside tracked data: the folder's hash counts
    git(repo.root, "add", "data/train.csv.mlctl")
    with mlctl.start_run() as run:
        pass
    data = get_run(repo, run.id).data
    assert data["data/train.csv"] == H1 and data["images"] == H2


def test_named_data_only(repo):
    _pointer(repo.root, "data/train.csv", H1)
    _pointer(repo.root, "images", H2)
    with mlctl.start_run(data=["data/train.csv.mlctl", "images/cat/1.png"]) as run:
        pass
    assert get_run(repo, run.id).data == {"data/train.csv": H1, "images": H2}
    with pytest.raises(UsageError, match="not tracked data"):
        mlctl.start_run(data=["nope.csv"])
    with pytest.raises(UsageError, match="outside the repository"):
        mlctl.start_run(data=["/etc/passwd"])


def test_broken_pointer_is_a_usage_error(repo):
    (repo.root / "x.csv.mlctl").write_text("path: x.csv\n")
    with pytest.raises(UsageError, match="not a valid data pointer"):
        capture.named_data(repo, ["x.csv"])
    assert capture.data_pointers(repo) == {}  # unreadable pointers are skipped, not fatal


def test_environment_without_importing_packages(repo):
    before = set(sys.modules)
    env = capture.environment()
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["packages"]["mlctl"] and "pyyaml" not in env["packages"]
    assert "scikit-learn" in env["packages"] and "numpy" in env["packages"]
    assert not {"sklearn", "numpy"} & (set(sys.modules) - before)


def test_host_and_command(repo):
    with mlctl.start_run() as run:
        pass
    stored = get_run(repo, run.id)
    assert stored.host == socket.gethostname()
    if sys.argv[0] == "-c":  # a pytest-xdist worker: this process is `python -c ...`
        assert stored.command == shlex.join([Path(sys.executable).name, *sys.argv])
    else:
        assert "pytest" in stored.command
