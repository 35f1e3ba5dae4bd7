"""`data diff`, `data log`, `data list`: versions through git history."""

from __future__ import annotations

import os

import pytest

from mlctl.data.add import add
from tests.data.conftest import commit_all


@pytest.fixture
def history(sample):
    """v1 and v2 commits: v2 edits a.txt, deletes b.txt, adds e.txt, retrains model.bin."""
    add(sample, ["data/raw", "model.bin"])
    commit_all(sample.root, "v1 data")
    (sample.root / "data/raw/a.txt").write_text("alpha v2\n")
    os.unlink(sample.root / "data/raw/b.txt")
    (sample.root / "data/raw/e.txt").write_text("echo\n")
    (sample.root / "model.bin").write_bytes(b"v2")
    add(sample, ["data/raw", "model.bin"])
    commit_all(sample.root, "v2 data")
    return sample


def test_diff_between_revisions(cli, history):
    res = cli("data", "diff", "HEAD~1", "HEAD")
    assert res.exit_code == 0
    assert res.stdout.splitlines() == [
        "modified: data/raw/a.txt  (6 B -> 9 B)",
        "deleted:  data/raw/b.txt  (6 B)",
        "added:    data/raw/e.txt  (5 B)",
        "modified: model.bin  (900 B -> 2 B)",
    ]
    doc = cli("data", "diff", "HEAD~1", "HEAD", "--json").json()
    assert doc["old"] == "HEAD~1" and doc["new"] == "HEAD" and doc["changed"] is True
    assert [d["path"] for d in doc["added"]] == ["data/raw/e.txt"]
    assert set(doc["modified"][0]) == {"path", "old_hash", "new_hash", "old_size", "new_size"}
    assert cli("data", "diff", "HEAD~1", "HEAD", "--exit-code").exit_code == 1
    assert cli("data", "diff", "HEAD", "HEAD", "--exit-code").exit_code == 0


def test_diff_head_against_workspace_sees_unadded_changes(cli, history):
    assert cli("data", "diff", "--exit-code").exit_code == 0
    (history.root / "data/raw/sub/c.txt").write_text("edited, not added\n")
    os.unlink(history.root / "model.bin")
    doc = cli("data", "diff", "--json").json()
    assert doc["old"] == "HEAD" and doc["new"] == "workspace"
    assert [d["path"] for d in doc["modified"]] == ["data/raw/sub/c.txt"]
    assert [d["path"] for d in doc["deleted"]] == ["model.bin"]
    only = cli("data", "diff", "--path", "model.bin", "--json").json()
    assert only["modified"] == [] and [d["path"] for d in only["deleted"]] == ["model.bin"]


def test_diff_errors(cli, history):
    res = cli("data", "diff", "nope")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: unknown git revision: nope")
    res = cli("data", "diff", "--path", "elsewhere")
    assert res.exit_code == 2 and "elsewhere is not tracked" in res.stderr


def test_log_lists_versions_newest_first(cli, history):
    os.unlink(history.root / "model.bin.mlctl")
    commit_all(history.root, "drop the model")
    doc = cli("data", "log", "model.bin", "--json").json()
    assert doc["path"] == "model.bin"
    assert [v["subject"] for v in doc["versions"]] == ["drop the model", "v2 data", "v1 data"]
    assert doc["versions"][0]["deleted"] is True and doc["versions"][1]["size"] == 2
    assert set(doc["versions"][2]) == {"commit", "date", "author", "subject", "deleted", "hash", "size", "nfiles", "kind"}
    res = cli("data", "log", "data/raw.mlctl")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["commit", "date", "size", "files", "hash", "subject"]
    assert "2.6 KB" in lines[1] and lines[1].endswith("v2 data") and lines[2].endswith("v1 data")
    assert len(lines) == 3
    assert cli("data", "log", "data/raw", "-n", "1", "--json").json()["versions"][0]["nfiles"] == 4


def test_log_of_a_path_never_tracked_is_exit_2(cli, history):
    res = cli("data", "log", "other.csv", "--json")
    assert res.exit_code == 2 and "other.csv is not tracked" in res.stderr
    res = cli("data", "log", "other.csv")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: other.csv is not tracked")


def test_log_of_a_tracked_path_not_yet_committed_is_empty(cli, history):
    (history.root / "new.csv").write_text("a\n1\n")
    add(history, ["new.csv"])
    res = cli("data", "log", "new.csv", "--json")
    assert res.exit_code == 0 and res.json()["versions"] == []


def test_log_outside_git_says_so(cli, make_repo, monkeypatch):
    plain = make_repo("plain", use_git=False)
    monkeypatch.chdir(plain.root)
    (plain.root / "a.csv").write_text("a\n1\n")
    add(plain, ["a.csv"])
    res = cli("data", "log", "a.csv")
    assert res.exit_code == 2 and "not a git repository" in res.stderr
    assert res.exit_code == cli("data", "checkout", "--rev", "HEAD", "a.csv").exit_code


def test_list_shows_every_tracked_path_with_status(cli, history):
    (history.root / "model.bin").write_bytes(b"local edit")
    rows = cli("data", "list", "--json").json()
    assert [(r["path"], r["kind"], r["nfiles"], r["status"]) for r in rows] == [
        ("data/raw", "dir", 4, "unchanged"), ("model.bin", "file", 1, "modified")]
    assert set(rows[0]) >= {"path", "kind", "size", "nfiles", "hash", "status", "in_store"}
    (history.root / "data/raw.mlctl").write_text("garbage: [")
    rows = cli("data", "list", "--json").json()
    assert rows[0]["status"] == "invalid" and "not valid YAML" in rows[0]["error"]
    res = cli("data", "list")
    assert res.exit_code == 0 and res.stdout.splitlines()[0].split() == ["path", "kind", "size", "files", "hash", "status"]


def test_diff_before_the_first_commit_shows_everything_added(cli, sample):
    add(sample, ["model.bin"])
    doc = cli("data", "diff", "--json").json()
    assert [d["path"] for d in doc["added"]] == ["model.bin"] and doc["old"] == "HEAD"
