"""Issue 17 "Links and names": symlinks in tracked folders (recorded, restored, refused
when they leave), --follow-links, and empty folders through add -> checkout."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mlctl.data import pointer
from mlctl.store import tree
from mlctl.store.repo import Repo
from mlctl.store.tree import DIR_MODE, LINK_MODE
from tests.conftest import one_error


@pytest.fixture
def folder(repo):
    """d/ with a file, a file link and a folder link that stay inside, and empty folders."""
    d = repo.root / "d"
    (d / "sub" / "empty").mkdir(parents=True)
    (d / "e2").mkdir()
    (d / "a.txt").write_text("a\n")
    (d / "sub" / "s.txt").write_text("s\n")
    os.symlink("../a.txt", d / "sub" / "la")
    os.symlink("sub", d / "lsub")
    return d


def entries_of(repo, rel="d"):
    return {e.path: e for e in tree.load(repo.objects, pointer.read(repo.root, rel + ".mlctl").hash)}


def test_links_inside_and_empty_folders_are_recorded_and_restored(cli, repo, folder):
    assert cli("data", "add", "d").exit_code == 0
    entries = entries_of(repo)
    assert entries["sub/la"].mode == LINK_MODE and repo.objects.get_bytes(entries["sub/la"].hash) == b"../a.txt"
    assert entries["lsub"].mode == LINK_MODE and entries["e2"].mode == DIR_MODE
    assert entries["sub/empty"].mode == DIR_MODE and "lsub/s.txt" not in entries  # a link is not walked
    shutil.rmtree(folder)
    res = cli("data", "checkout")
    assert res.exit_code == 0, res.stderr
    assert os.readlink(folder / "sub" / "la") == "../a.txt" and os.readlink(folder / "lsub") == "sub"
    assert (folder / "sub" / "empty").is_dir() and (folder / "e2").is_dir()
    assert (folder / "sub" / "la").read_text() == "a\n"
    assert cli("data", "status").exit_code == 0
    assert cli("data", "checkout", "--json").json()["written"] == []  # all in place already
    assert (folder / "e2").is_dir()  # not pruned as an empty folder


def test_a_link_that_leaves_the_repository_is_refused_naming_it(cli, repo, folder, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    os.symlink(secret, folder / "sub" / "out")
    one_error(cli("data", "add", "d"), 2, "d/sub/out", "outside the repository", str(secret))
    assert not (repo.root / "d.mlctl").exists()
    os.symlink(secret, repo.root / "top")
    one_error(cli("data", "add", "top"), 2, "top", "outside the repository")


def test_follow_links_stores_the_targets_content_and_says_so(cli, repo, folder, tmp_path):
    secret = tmp_path / "shared.txt"
    secret.write_text("shared\n")
    os.symlink(secret, folder / "out")
    res = cli("data", "add", "d", "--follow-links")
    assert res.exit_code == 0, res.stderr
    assert "d/out: stored the content of" in res.stderr
    entries = entries_of(repo)
    assert entries["out"].mode != LINK_MODE and repo.objects.get_bytes(entries["out"].hash) == b"shared\n"
    os.unlink(folder / "out")
    assert cli("data", "checkout").exit_code == 0
    assert not (folder / "out").is_symlink() and (folder / "out").read_text() == "shared\n"


def _crafted_folder(repo, rows) -> None:
    data = json.dumps({"files": rows, "kind": "mlctl.manifest", "version": 1}).encode()
    pointer.write(repo.root, pointer.Pointer("d", repo.objects.put_bytes(data), 1, len(rows), "dir"))


@pytest.mark.parametrize("links", [
    {"x": "../../outside"}, {"x": "/etc"}, {"sub/x": "../.."}, {"x": "."}, {"x": "sub/../../y"}, {"x": ".git/hooks"},
])
def test_a_crafted_link_leaving_its_folder_is_exit_3_before_any_write(cli, repo, links):
    rows = [[path, repo.objects.put_bytes(target.encode()), len(target), LINK_MODE] for path, target in links.items()]
    rows.append(["f.txt", repo.objects.put_bytes(b"f"), 1, 0o644])
    _crafted_folder(repo, rows)
    one_error(cli("data", "checkout"), 3, "symlink", "leaves its folder")
    assert not (repo.root / "d").exists()


def test_a_chain_of_links_that_climbs_out_is_removed_and_exit_3(cli, repo):
    up, climb = b"..", b"a/b/up/../.."  # each inside on paper; together one level above d/
    rows = [["a/b/up", repo.objects.put_bytes(up), 2, LINK_MODE], ["z", repo.objects.put_bytes(climb), 12, LINK_MODE]]
    _crafted_folder(repo, rows)
    one_error(cli("data", "checkout"), 3, "resolves outside d")
    assert not os.path.lexists(repo.root / "d" / "z") and not os.path.lexists(repo.root / "d" / "a" / "b" / "up")


def test_symlink_checkouts_into_a_store_outside_the_repository_can_be_added_again(cli, tmp_path, monkeypatch,
                                                                              as_non_root):
    work, store = tmp_path / "ws", tmp_path / "elsewhere" / "store"
    (work / "d").mkdir(parents=True)
    (work / "d" / "a.txt").write_text("a\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLCTL_DIR", str(store))
    assert cli("init").exit_code == 0
    assert cli("config", "set", "data.link", "symlink").exit_code == 0
    assert cli("data", "add", "d").exit_code == 0
    assert os.path.islink(work / "d" / "a.txt")  # a link into the store, outside the workspace
    (work / "d" / "b.txt").write_text("b\n")
    res = cli("data", "add", "d")
    assert res.exit_code == 0, res.stderr
    assert entries_of(Repo(work, store))["a.txt"].mode != LINK_MODE  # its content, as before
