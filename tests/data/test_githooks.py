"""`mlctl hooks install`: real git operations fire the hooks; existing hooks are chained,
never overwritten; and the pre-commit framework manifest is valid."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from mlctl.data.add import add
from tests.conftest import PROJECT, git
from tests.data.conftest import commit_all


@pytest.fixture
def hooked(sample, cli, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))  # the hooks run mlctl as a real process
    hooks = sample.root / ".git/hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    old = hooks / "pre-commit"
    old.write_text(f"#!/bin/sh\necho ran >> '{sample.root.parent}/old-hook.log'\nexit 0\n")
    old.chmod(0o755)
    res = cli("hooks", "install", "--json")
    assert res.exit_code == 0, res.stderr
    assert [c["hook"] for c in res.json()] == ["post-checkout", "pre-push", "pre-commit"]
    return sample


def run_git(root, *args, input=None):
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, input=input)


def test_existing_hook_is_kept_and_runs_first(cli, hooked):
    hooks = hooked.root / ".git/hooks"
    assert (hooks / "pre-commit.pre-mlctl").read_text().startswith("#!/bin/sh\necho ran")
    assert "mlctl-managed hook" in (hooks / "pre-commit").read_text()
    assert os.access(hooks / "pre-commit", os.X_OK)
    again = cli("hooks", "install", "--json").json()
    assert [c["action"] for c in again] == ["updated", "updated", "updated"]
    assert (hooks / "pre-commit.pre-mlctl").read_text().startswith("#!/bin/sh\necho ran")  # not chained twice
    proc = run_git(hooked.root, "commit", "-q", "--allow-empty", "-m", "x")
    assert proc.returncode == 0, proc.stderr
    assert (hooked.root.parent / "old-hook.log").read_text() == "ran\n"


def test_failing_chained_hook_still_blocks(cli, hooked):
    (hooked.root / ".git/hooks/pre-commit.pre-mlctl").write_text("#!/bin/sh\necho no >&2\nexit 1\n")
    proc = run_git(hooked.root, "commit", "-q", "--allow-empty", "-m", "x")
    assert proc.returncode != 0


def test_pre_commit_warns_about_changed_data_but_lets_the_commit_through(hooked):
    add(hooked, ["model.bin"])
    git(hooked.root, "add", "-A")
    (hooked.root / "model.bin").write_bytes(b"edited after add")
    proc = run_git(hooked.root, "commit", "-q", "-m", "with edit")
    assert proc.returncode == 0, proc.stderr
    assert "mlctl: warning: tracked data changed" in proc.stderr


def test_post_checkout_makes_data_follow_the_branch(hooked):
    add(hooked, ["data/raw", "model.bin"])
    commit_all(hooked.root, "v1")
    git(hooked.root, "checkout", "-q", "-b", "experiment")
    (hooked.root / "model.bin").write_bytes(b"experimental model")
    add(hooked, ["model.bin"])
    commit_all(hooked.root, "v2 on a branch")
    proc = run_git(hooked.root, "checkout", "-q", "main")
    assert proc.returncode == 0, proc.stderr
    assert (hooked.root / "model.bin").read_bytes() == b"\x00weights\x01" * 100
    run_git(hooked.root, "checkout", "-q", "experiment")
    assert (hooked.root / "model.bin").read_bytes() == b"experimental model"


def test_pre_push_pushes_data_to_the_default_remote(cli, hooked, tmp_path):
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(hooked.root, "remote", "add", "origin", str(bare))
    store = tmp_path / "data-remote"
    assert cli("remote", "add", "shared", str(store), "--default").exit_code == 0
    add(hooked, ["model.bin"])
    commit_all(hooked.root, "v1")
    proc = run_git(hooked.root, "push", "-q", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert len([p for p in (store / "objects").rglob("*") if p.is_file()]) == 1


def test_pre_push_without_a_data_remote_does_not_block(hooked, tmp_path):
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(hooked.root, "remote", "add", "origin", str(bare))
    commit_all(hooked.root, "v1")
    proc = run_git(hooked.root, "push", "-q", "origin", "main")
    assert proc.returncode == 0, proc.stderr


def test_uninstall_restores_the_original_hooks(cli, hooked):
    hooks = hooked.root / ".git/hooks"
    res = cli("hooks", "uninstall")
    assert res.exit_code == 0
    assert (hooks / "pre-commit").read_text().startswith("#!/bin/sh\necho ran")
    assert not (hooks / "post-checkout").exists() and not (hooks / "pre-commit.pre-mlctl").exists()


def test_refuses_when_both_a_hook_and_a_chained_one_exist(cli, hooked):
    hooks = hooked.root / ".git/hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\n# a hook someone put back by hand\n")
    res = cli("hooks", "install")
    assert res.exit_code == 2 and "mlctl will not overwrite either" in res.stderr
    assert (hooks / "pre-commit").read_text().endswith("by hand\n")


def test_hooks_path_setting_is_respected(cli, sample):
    git(sample.root, "config", "core.hooksPath", "githooks")
    assert cli("hooks", "install").exit_code == 0
    assert (sample.root / "githooks/post-checkout").exists()


def test_outside_git_is_exit_2(cli, make_repo, monkeypatch):
    plain = make_repo("plain", use_git=False)
    monkeypatch.chdir(plain.root)
    res = cli("hooks", "install")
    assert res.exit_code == 2 and "not a git repository" in res.stderr


def test_pre_commit_framework_manifest():
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert hook["id"] == "mlctl-data-status" and hook["entry"] == "mlctl data status"
    assert hook["language"] == "python" and hook["pass_filenames"] is False and hook["always_run"] is True
