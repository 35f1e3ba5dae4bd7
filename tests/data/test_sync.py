"""`data push` / `data pull` through the CLI: the team flow (git clone, pull, checkout)
against a folder remote and a real S3-compatible server on 127.0.0.1."""

from __future__ import annotations

import shutil

import pytest

from mlctl.data.add import add
from mlctl.data.pointer import read as read_pointer
from tests.conftest import git
from tests.data.conftest import commit_all, free_port, tree_bytes


@pytest.fixture(params=["folder", "s3"])
def remote_url(request, tmp_path):
    if request.param == "folder":
        return str(tmp_path / "shared-store")
    return f"s3://{request.getfixturevalue('s3_bucket')}/store"


def test_team_flow_clone_pull_checkout_gives_the_same_bytes(cli, sample, remote_url, tmp_path, monkeypatch):
    assert cli("remote", "add", "origin", remote_url, "--default").exit_code == 0
    add(sample, ["data/raw", "model.bin"])
    commit_all(sample.root, "data v1")
    res = cli("data", "push", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json() == {"remote": "origin", "transferred": 6, "objects": 6, "paths": 2, "warnings": []}
    assert cli("data", "push", "--json").json()["transferred"] == 0  # only what is missing

    clone = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(sample.root), str(clone))
    monkeypatch.chdir(clone)
    assert cli("init").exit_code == 0
    assert cli("data", "status").exit_code == 1  # pointers without data
    res = cli("data", "pull", "-j", "3", "--json")  # fetch and checkout, as dvc and git-lfs pull do
    assert res.exit_code == 0, res.stderr
    assert res.json()["transferred"] == 6
    assert sorted(res.json()["checkout"]["written"])[:2] == ["data/raw/a.txt", "data/raw/b.txt"]
    assert tree_bytes(clone / "data/raw") == tree_bytes(sample.root / "data/raw")
    assert (clone / "model.bin").read_bytes() == (sample.root / "model.bin").read_bytes()
    assert cli("data", "status").exit_code == 0


def test_pull_names_what_the_remote_lacks(cli, sample, tmp_path):
    assert cli("remote", "add", "origin", str(tmp_path / "r"), "--default").exit_code == 0
    add(sample, ["model.bin"])
    assert cli("data", "push").exit_code == 0
    add(sample, ["data/raw"])  # added after the push
    shutil.rmtree(sample.objects.root)
    (sample.root / "model.bin").unlink()
    res = cli("data", "pull")
    assert res.exit_code == 2
    assert res.stderr.startswith("mlctl: error: remote origin lacks 1 object needed by data/raw, e.g. ")
    assert sample.objects.exists(read_pointer(sample.root, "model.bin.mlctl").hash)
    assert (sample.root / "model.bin").is_file()  # what did arrive is checked out before the report
    assert (sample.root / "data/raw/a.txt").is_file()  # what did not is left as it was


def test_push_and_pull_of_one_path_and_of_a_revision(cli, sample, tmp_path):
    assert cli("remote", "add", "origin", str(tmp_path / "r"), "--default").exit_code == 0
    add(sample, ["data/raw", "model.bin"])
    commit_all(sample.root, "v1")
    assert cli("data", "push", "model.bin", "--json").json()["transferred"] == 1
    (sample.root / "model.bin").write_bytes(b"v2")
    add(sample, ["model.bin"])
    assert cli("data", "push", "--rev", "HEAD", "--json").json()["transferred"] == 5  # v1's folder
    shutil.rmtree(sample.objects.root)
    res = cli("data", "pull", "--rev", "HEAD", "model.bin", "--json")
    assert res.json()["transferred"] == 1 and res.json()["checkout"] is None  # --rev only fetches
    res = cli("data", "pull", "model.bin")
    assert res.exit_code == 2 and "remote origin lacks 1 object" in res.stderr  # v2 was never pushed


def test_remote_errors_are_exit_2(cli, sample, tmp_path, monkeypatch):
    add(sample, ["model.bin"])
    res = cli("data", "push")
    assert res.exit_code == 2 and res.stderr.splitlines() == [
        "mlctl: error: no remote configured", "hint: run `mlctl remote add NAME URL --default`"]
    res = cli("data", "push", "-r", "nope")
    assert res.exit_code == 2 and "unknown remote: nope" in res.stderr
    assert cli("remote", "add", "down", "s3://bucket/x").exit_code == 0
    assert cli("config", "set", "remote.down.endpoint_url", f"http://127.0.0.1:{free_port()}").exit_code == 0
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    res = cli("data", "push", "-r", "down")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: remote down (s3://bucket/x) is unreachable")
    assert "Traceback" not in res.stderr
    assert cli("remote", "add", "empty", str(tmp_path / "never-created")).exit_code == 0
    assert cli("data", "pull", "-r", "empty").exit_code == 0  # nothing missing: nothing to ask
    shutil.rmtree(sample.objects.root)
    res = cli("data", "pull", "-r", "empty")
    assert res.exit_code == 2 and "remote folder does not exist" in res.stderr
