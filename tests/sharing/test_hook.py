"""The pre-push hook runs `mlctl push` for what the pushed commits need (issue 17)."""

from __future__ import annotations

import subprocess

import pytest

from mlctl.data.pushed import parse_lines
from mlctl.errors import UsageError
from tests.conftest import PROJECT, git
from tests.data.conftest import commit_all


@pytest.fixture
def hooked(repo, cli, monkeypatch, tmp_path):
    """A repo with mlctl's hooks, a bare git remote `origin` and a data remote `shared`."""
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))  # the hooks run mlctl as a real process
    assert cli("hooks", "install").exit_code == 0
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "origin.git"))
    git(repo.root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    assert cli("remote", "add", "shared", str(tmp_path / "store"), "--default").exit_code == 0
    return repo


def version(cli, repo, text: str) -> str:
    (repo.root / "a.csv").write_text(text)
    assert cli("data", "add", "a.csv").exit_code == 0
    commit_all(repo.root, text.strip())
    return cli("data", "list", "--json").json()[0]["hash"]


def on_remote(tmp_path, digest: str) -> bool:
    return (tmp_path / "store/objects" / digest[:2] / digest[2:]).is_file()


def git_push(repo):
    return subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.root, capture_output=True, text=True)


def test_git_push_sends_the_data_of_every_pushed_commit_and_the_runs(cli, hooked, tmp_path):
    v1, v2 = version(cli, hooked, "x\n1\n"), version(cli, hooked, "x\n2\n")
    run_id = cli("run", "log", "-m", "acc=0.5").stdout.strip()
    proc = git_push(hooked)
    assert proc.returncode == 0, proc.stderr
    assert on_remote(tmp_path, v1) and on_remote(tmp_path, v2)  # v1 too: it is in a pushed commit
    assert list((tmp_path / "store/runs").iterdir())[0].name == run_id


def test_commits_the_git_remote_has_are_not_looked_at_again(cli, hooked, tmp_path):
    v1 = version(cli, hooked, "x\n1\n")
    assert git_push(hooked).returncode == 0
    hooked.objects.remove(v1)
    (tmp_path / "store/objects" / v1[:2] / v1[2:]).unlink()  # v1's data is gone everywhere
    v3 = version(cli, hooked, "x\n3\n")
    proc = git_push(hooked)  # only the new commit is pushed: v1 does not stop it
    assert proc.returncode == 0, proc.stderr
    assert on_remote(tmp_path, v3)


def test_a_pushed_commit_whose_data_nobody_has_stops_git_push(cli, hooked, tmp_path):
    v1 = version(cli, hooked, "x\n1\n")
    version(cli, hooked, "x\n2\n")
    hooked.objects.remove(v1)
    proc = git_push(hooked)
    assert proc.returncode != 0
    assert f"a.csv needs 1 object that neither the local store nor remote shared has (e.g. {v1})" in proc.stderr
    assert "push failed, so git push stopped" in proc.stderr
    assert git(tmp_path / "origin.git", "branch", "--list") == ""  # nothing reached the git remote


def test_pre_push_lines_are_checked():
    zero, sha = "0" * 40, "a" * 40
    assert parse_lines(f"refs/heads/main {sha} refs/heads/main {zero}\n\n") == [(sha, zero)]
    assert parse_lines(f"(delete) {zero} refs/heads/old {sha}\n") == []  # a deletion sends nothing
    for bad in ("refs/heads/main HEAD refs/heads/main " + zero, "one two three", f"x --all y {sha}"):
        with pytest.raises(UsageError, match="not a pre-push line"):
            parse_lines(bad)
