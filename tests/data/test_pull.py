"""`data pull` fetches and checks out, `data fetch` only fetches, `--all-commits` moves the
data of every revision, and every missing-object hint names the command that gets it
(issue 17, problem 3)."""

from __future__ import annotations

import shlex

import pytest

from tests.conftest import git
from tests.data.conftest import commit_all


@pytest.fixture
def team(cli, repo, tmp_path, monkeypatch):
    """A repo with a.csv committed as v1 then v2, both versions pushed; returns the
    path of an mlctl-initialised clone (the working directory) sharing the remote."""
    assert cli("remote", "add", "origin", str(tmp_path / "remote"), "--default").exit_code == 0
    for version in ("x,y\n1,2\n", "x,y\n1,2\n3,4\n"):
        (repo.root / "a.csv").write_text(version)
        assert cli("data", "add", "a.csv").exit_code == 0
        commit_all(repo.root, f"a.csv {len(version)}")
    res = cli("data", "push", "--all-commits", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["transferred"] == 2 and res.json()["paths"] == 2
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    monkeypatch.chdir(clone)
    assert cli("init").exit_code == 0
    return clone


def test_pull_brings_the_files(cli, team):
    """Problem 3 reproduced: `data pull` used to leave the workspace empty."""
    res = cli("data", "pull")
    assert res.exit_code == 0, res.stderr
    assert (team / "a.csv").read_text() == "x,y\n1,2\n3,4\n"
    assert cli("data", "status").exit_code == 0


def test_fetch_and_pull_no_checkout_only_fetch(cli, team):
    res = cli("data", "fetch", "--json")
    assert res.exit_code == 0 and res.json()["transferred"] == 1 and res.json()["checkout"] is None
    assert not (team / "a.csv").exists()
    assert cli("data", "pull", "--no-checkout", "--json").json()["checkout"] is None
    assert not (team / "a.csv").exists()
    assert cli("data", "checkout").exit_code == 0  # everything is here now


def test_old_revision_hint_names_the_pull_that_gets_it_and_works(cli, team):
    """Problem 3 reproduced: the hint said plain `data pull`, which fetches nothing of HEAD~1."""
    assert cli("data", "pull").exit_code == 0
    res = cli("data", "checkout", "--rev", "HEAD~1", "a.csv")
    assert res.exit_code == 2
    hint = res.stderr.splitlines()[-1]
    assert hint == "hint: run `mlctl data pull --rev HEAD~1 a.csv` to fetch it from the remote"
    command = shlex.split(hint.split("`")[1])
    assert cli(*command[1:]).exit_code == 0
    assert cli("data", "checkout", "--rev", "HEAD~1", "a.csv").exit_code == 0
    assert (team / "a.csv").read_text() == "x,y\n1,2\n"


def test_drift_reference_at_old_revision_hint_works(cli, team):
    assert cli("data", "pull").exit_code == 0
    res = cli("monitor", "drift", "--reference", "a.csv@HEAD~1", "--current", "a.csv")
    assert res.exit_code == 2
    assert "hint: run `mlctl data pull --rev HEAD~1 a.csv` to fetch it from the remote" in res.stderr
    assert cli("data", "pull", "--rev", "HEAD~1", "a.csv").exit_code == 0
    assert cli("monitor", "drift", "--reference", "a.csv@HEAD~1", "--current", "a.csv").exit_code in (0, 1)


def test_pull_all_commits_gets_every_revision(cli, team):
    res = cli("data", "pull", "--all-commits", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["transferred"] == 2 and res.json()["checkout"]["written"] == ["a.csv"]
    assert cli("data", "checkout", "--rev", "HEAD~1", "a.csv").exit_code == 0


def test_pull_never_destroys_unsaved_workspace_data(cli, team):
    (team / "a.csv").write_text("my own edit\n")
    res = cli("data", "pull")
    assert res.exit_code == 2
    assert "checkout would overwrite or delete a.csv, whose content is not in the store" in res.stderr
    assert (team / "a.csv").read_text() == "my own edit\n"
    assert cli("data", "pull", "--force").exit_code == 0  # fetched already; --force discards the edit
    assert (team / "a.csv").read_text() == "x,y\n1,2\n3,4\n"


def test_push_all_commits_names_data_nobody_has(cli, repo, tmp_path):
    assert cli("remote", "add", "origin", str(tmp_path / "remote"), "--default").exit_code == 0
    (repo.root / "a.csv").write_text("v1\n")
    assert cli("data", "add", "a.csv").exit_code == 0
    commit_all(repo.root, "v1")
    old = cli("data", "list", "--json").json()[0]["hash"]
    (repo.root / "a.csv").write_text("v2\n")
    assert cli("data", "add", "a.csv").exit_code == 0
    commit_all(repo.root, "v2")
    repo.objects.remove(old)  # v1's data lost here and never pushed
    res = cli("data", "push", "--all-commits", "--json")
    assert res.exit_code == 2
    assert f"a.csv needs 1 object that neither the local store nor remote origin has (e.g. {old})" in res.stderr
    assert cli("data", "push", "--json").json()["transferred"] == 0  # v2 went before the error
    assert cli("data", "push", "--rev", "HEAD", "--all-commits").exit_code == 2


def test_diff_of_an_old_folder_names_the_pull_that_gets_its_manifest(cli, repo, tmp_path):
    assert cli("remote", "add", "origin", str(tmp_path / "remote"), "--default").exit_code == 0
    (repo.root / "d").mkdir()
    (repo.root / "d/x.txt").write_text("1\n")
    assert cli("data", "add", "d").exit_code == 0
    commit_all(repo.root, "v1")
    old = cli("data", "list", "--json").json()[0]["hash"]
    (repo.root / "d/x.txt").write_text("2\n")
    assert cli("data", "add", "d").exit_code == 0
    commit_all(repo.root, "v2")
    assert cli("data", "push", "--all-commits").exit_code == 0
    repo.objects.remove(old)
    res = cli("data", "diff", "HEAD~1", "HEAD")
    assert res.exit_code == 2 and "hint: run `mlctl data pull --rev HEAD~1 d` to fetch it" in res.stderr
    assert cli("data", "pull", "--rev", "HEAD~1", "d").exit_code == 0
    assert cli("data", "diff", "HEAD~1", "HEAD", "--json").json()["modified"][0]["path"] == "d/x.txt"
