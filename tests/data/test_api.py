"""The core API other components call, and the status/gc/fsck/config plug-ins."""

from __future__ import annotations

import shutil

import pytest

from mlctl.data import api, plugin
from mlctl.errors import NotFoundError, ObjectMissingError, UsageError
from mlctl.store import tree
from tests.conftest import git
from tests.data.conftest import commit_all


def test_hash_path_gives_the_hash_add_records(sample):
    before = api.hash_path(sample, "data/raw")
    assert not (sample.root / "data/raw.mlctl").exists()
    [added] = api.add(sample, ["data/raw"]).pointers
    assert before == added and api.hash_path(sample, "data/raw/") == added
    assert api.hash_path(sample, "model.bin").kind == "file"
    assert sample.objects.exists(api.hash_path(sample, "model.bin").hash)  # objects stored
    with pytest.raises(NotFoundError):
        api.hash_path(sample, "missing")
    for bad in ("../escape", "/etc/passwd", ".mlctl/config.yaml"):
        with pytest.raises(UsageError):
            api.hash_path(sample, bad)


def test_tracked_and_manifest_entries(sample):
    api.add(sample, ["data/raw", "model.bin"])
    pointers = api.tracked(sample)
    assert [(p.path, p.kind, p.nfiles) for p in pointers] == [("data/raw", "dir", 4), ("model.bin", "file", 1)]
    entries = api.manifest_entries(sample, pointers[0].hash)
    assert entries[0] == {"path": "a.txt", "hash": api.hash_path(sample, "data/raw/a.txt").hash, "size": 6,
                          "mode": 0o644}


def test_resolve_file_prefers_the_unchanged_workspace_file(sample):
    api.add(sample, ["model.bin", "data/raw"])
    assert api.resolve_file(sample, "model.bin") == sample.root / "model.bin"
    assert api.resolve_file(sample, "data/raw/sub/c.txt") == sample.root / "data/raw/sub/c.txt"
    original = (sample.root / "model.bin").read_bytes()
    (sample.root / "model.bin").write_bytes(b"local edit")
    resolved = api.resolve_file(sample, "model.bin")
    assert resolved != sample.root / "model.bin" and resolved.read_bytes() == original


def test_resolve_file_at_a_revision(sample):
    api.add(sample, ["model.bin"])
    commit_all(sample.root, "v1")
    v1 = (sample.root / "model.bin").read_bytes()
    (sample.root / "model.bin").write_bytes(b"v2")
    api.add(sample, ["model.bin"])
    commit_all(sample.root, "v2")
    assert api.resolve_file(sample, "model.bin@HEAD~1").read_bytes() == v1
    assert api.resolve_file(sample, "model.bin@HEAD") == sample.root / "model.bin"
    with pytest.raises(UsageError):
        api.resolve_file(sample, "model.bin@no-such-tag")


def test_resolve_file_errors(sample):
    api.add(sample, ["model.bin", "data/raw"])
    with pytest.raises(UsageError, match="tracked folder"):
        api.resolve_file(sample, "data/raw")
    with pytest.raises(NotFoundError):
        api.resolve_file(sample, "nothing.csv")
    (sample.root / "model.bin").write_bytes(b"edit")
    sample.objects.remove(api.tracked(sample)[1].hash)
    with pytest.raises(ObjectMissingError) as info:
        api.resolve_file(sample, "model.bin")
    assert "`mlctl data pull model.bin`" in info.value.hint


def test_checkout_and_status_api(sample):
    api.add(sample, ["data/raw"])
    shutil.rmtree(sample.root / "data/raw")
    assert api.status(sample).changed
    api.checkout(sample)
    assert not api.status(sample, ["data/raw"]).changed


def test_status_section(sample):
    api.add(sample, ["data/raw", "model.bin"])
    (sample.root / "model.bin").write_bytes(b"x")
    section = plugin.status_section(sample)
    assert section["key"] == "data" and section["json"] == {"tracked": 2, "changed": ["model.bin"]}
    assert section["lines"][0] == "2 tracked paths, 1 changed"
    (sample.root / "model.bin.mlctl").write_text("junk: [")
    assert "error" in plugin.status_section(sample)["json"]


def test_mlctl_status_and_fsck_and_gc_see_data(cli, sample):
    api.add(sample, ["data/raw", "model.bin"])
    doc = cli("status", "--json").json()
    assert doc["data"] == {"tracked": 2, "changed": []}
    assert cli("fsck").exit_code == 0
    lost = tree.load(sample.objects, api.tracked(sample)[0].hash)[1].hash
    sample.objects.remove(lost)
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    assert res.json()["missing"] == [{"what": "pointer data/raw.mlctl: data/raw/b.txt", "object": lost,
                                       "problem": "not in the store"}]


def test_gc_keeps_data_of_every_branch_and_tag(cli, sample):
    api.add(sample, ["model.bin"])
    commit_all(sample.root, "v1")
    git(sample.root, "tag", "v1")
    v1 = api.tracked(sample)[0].hash
    git(sample.root, "checkout", "-q", "-b", "other")
    (sample.root / "model.bin").write_bytes(b"branch model")
    api.add(sample, ["model.bin"])
    commit_all(sample.root, "branch")
    branch = api.tracked(sample)[0].hash
    git(sample.root, "checkout", "-q", "main")
    (sample.root / "model.bin").write_bytes(b"uncommitted model")
    api.add(sample, ["model.bin"])
    workspace = api.tracked(sample)[0].hash
    (sample.root / "model.bin").write_bytes(b"never referenced")
    orphan = api.hash_path(sample, "model.bin").hash
    assert plugin.gc_roots(sample) == {workspace}  # the workspace: kept by every scope
    history = {o for v in plugin.gc_history(sample).versions for o in v.objects}
    assert {v1, branch} <= history and orphan not in history
    assert cli("gc", "--grace", "0s").exit_code == 0
    assert all(sample.objects.exists(d) for d in (v1, branch, workspace))
    assert not sample.objects.exists(orphan)


def test_gc_refuses_to_guess_with_a_broken_workspace_pointer(cli, sample):
    api.add(sample, ["model.bin"])
    (sample.root / "model.bin.mlctl").write_text("hash: [")
    res = cli("gc", "--grace", "0s")
    assert res.exit_code == 2
    assert len(list(sample.objects.iter_hashes())) == 1  # the model's object survived


def test_config_keys(cli, repo):
    assert cli("config", "set", "data.link", "symlink").exit_code == 0
    assert cli("config", "get", "data.link").stdout.strip() == "symlink"
    assert cli("config", "set", "data.stat_cache", "maybe").exit_code == 2
    keys = [k["pattern"] for k in cli("config", "list", "--all", "--json").json()]
    assert r"data\.link" in keys and r"data\.stat_cache" in keys
