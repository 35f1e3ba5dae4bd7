"""Fixtures shared by every test: an isolated HOME/env/cwd, repo factories, a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

PROJECT = Path(__file__).resolve().parent.parent
# a Ray cluster and an S3 remote; a PostgreSQL server: for any test directory
pytest_plugins = ("tests.rayfixtures", "tests.pgfixtures")

# Hypothesis's 200 ms deadline per example measures the machine, not the code: on a loaded
# two-core CI runner it failed property tests that pass (test_prune_properties). Every
# property test runs without it; a slow example still shows in the suite's durations.
settings.register_profile("mlctl", deadline=None)
settings.load_profile("mlctl")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test touches the user's HOME, config or working directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    for var in list(os.environ):
        if var.startswith("MLCTL_") or var.startswith("AWS_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLCTL_LOCK_TIMEOUT", "30")
    monkeypatch.delenv("NO_COLOR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    from mlctl.cli import render

    render._state["quiet"] = False
    yield work


def git(cwd, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def make_repo(tmp_path):
    """make_repo(name="repo", git=True) -> an initialised mlctl repository (a git repo too)."""
    from mlctl.store.repo import init_repo

    def factory(name: str = "repo", use_git: bool = True):
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        if use_git:
            git(root, "init", "-q", "-b", "main")
        repo, _ = init_repo(root)
        return repo

    return factory


@pytest.fixture
def two_clones(make_repo, tmp_path, monkeypatch):
    """two_clones("alice", "bob", url=None) -> two repositories sharing the default remote
    ``origin`` (a folder unless ``url``); the working directory is the first one."""
    from mlctl.store.remotes import add_remote

    def factory(first: str, second: str, url: str | None = None):
        clones = make_repo(first), make_repo(second)
        for clone in clones:
            add_remote(clone, "origin", url or str(tmp_path / "shared-remote"), default=True)
        monkeypatch.chdir(clones[0].root)
        return clones

    return factory


@pytest.fixture
def make_damaged_store(make_repo):
    """make_damaged_store(kind) -> (repo, digest): a repository tracking one file (data.bin)
    whose object was then damaged by ``kind`` (tests/factories.py: DAMAGE_KINDS)."""
    from mlctl.data import api
    from tests.factories import damage_object

    def factory(kind: str, name: str = "damaged"):
        repo = make_repo(name)
        (repo.root / "data.bin").write_bytes(bytes(range(256)) * 16)
        [pointer] = api.add(repo, [repo.root / "data.bin"]).pointers
        damage_object(repo, pointer.hash, kind)
        return repo, pointer.hash

    return factory


@pytest.fixture
def repo(make_repo, monkeypatch):
    """An initialised repository that is also the working directory."""
    r = make_repo()
    monkeypatch.chdir(r.root)
    return r


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def one_error(res: Result, code: int, *needles: str) -> str:
    """The command failed with ``code`` and one `mlctl: error:` line (no traceback) that
    holds every needle; returns that line."""
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    first = res.stderr.strip().splitlines()[0]
    assert first.startswith("mlctl: error: ") and "Traceback" not in res.stderr
    for needle in needles:
        assert needle in first, first
    return first


@pytest.fixture
def cli():
    """cli("data", "add", "x") runs mlctl in-process and returns exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from mlctl.cli.main import app as root

    def invoke(*args, input=None, env=None) -> Result:
        from mlctl.cli import render

        render._state["quiet"] = False
        runner = CliRunner()
        res = runner.invoke(root, [str(a) for a in args], input=input, env=env, catch_exceptions=False)
        return Result(res.exit_code, res.stdout, res.stderr)

    return invoke


def child_pids(pid: int) -> list[int]:
    """The live children of ``pid`` (Linux: started by its main thread)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def run_mlctl(*args, cwd=None, env=None, timeout=120, input=None) -> subprocess.CompletedProcess:
    """mlctl as a real process (python -m mlctl), for startup, signals and concurrency."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(PROJECT) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "mlctl", *map(str, args)], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout, input=input,
    )


@pytest.fixture
def mlctl_proc():
    return run_mlctl
