"""`mlctl data checkout`: exact bytes back, refusal before destroying unsaved data, --rev,
link modes with probe and fallback, and verification before anything lands."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from mlctl.data.add import add
from mlctl.data.checkout import checkout
from mlctl.data.links import Linker
from mlctl.data.pointer import read as read_pointer
from mlctl.store import tree
from tests.data.conftest import commit_all, tree_bytes, write_tree
from tests.factories import damage_object


@pytest.fixture
def added(sample):
    add(sample, ["data/raw", "model.bin"])
    return sample


def snapshot(repo):
    return tree_bytes(repo.root / "data/raw"), (repo.root / "model.bin").read_bytes()


def test_restores_deleted_modified_and_extra_files(cli, added):
    before = snapshot(added)
    shutil.rmtree(added.root / "data/raw/sub")
    (added.root / "data/raw/a.txt").write_text("alpha\n")  # same content rewritten: fine
    os.unlink(added.root / "model.bin")
    res = cli("data", "checkout")
    assert res.exit_code == 0, res.stderr
    assert snapshot(added) == before
    assert "3 written, 0 deleted, 2 unchanged (copy)" in res.stderr


def test_refuses_to_destroy_data_not_in_the_store(cli, added):
    (added.root / "data/raw/a.txt").write_text("unsaved edit\n")
    (added.root / "data/raw/sub/extra.txt").write_text("unsaved new file\n")
    os.unlink(added.root / "data/raw/b.txt")
    res = cli("data", "checkout")
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        "mlctl: error: checkout would overwrite or delete data/raw/a.txt and 1 more, whose content is not in the store",
        "hint: `mlctl data add` it first to keep it, or pass --force to discard it"]
    assert (added.root / "data/raw/a.txt").read_text() == "unsaved edit\n"  # nothing changed at all
    assert not (added.root / "data/raw/b.txt").exists()
    res = cli("data", "checkout", "--force", "--json")
    assert res.exit_code == 0
    doc = res.json()
    assert doc["deleted"] == ["data/raw/sub/extra.txt"] and sorted(doc["written"]) == ["data/raw/a.txt", "data/raw/b.txt"]
    assert (added.root / "data/raw/a.txt").read_text() == "alpha\n"
    assert not (added.root / "data/raw/sub/extra.txt").exists()


def test_extra_file_whose_content_is_stored_is_removed_and_empty_folders_pruned(cli, added):
    write_tree(added.root, {"data/raw/new/copy.txt": "alpha\n"})  # same bytes as a.txt: in the store
    assert cli("data", "checkout").exit_code == 0
    assert not (added.root / "data/raw/new").exists()


def test_rev_brings_back_an_old_version_and_its_pointer(cli, added):
    v1 = snapshot(added)
    commit_all(added.root, "v1")
    (added.root / "data/raw/a.txt").write_text("v2 alpha\n")
    os.unlink(added.root / "data/raw/b.txt")
    (added.root / "model.bin").write_bytes(b"v2 model")
    add(added, ["data/raw", "model.bin"])
    commit_all(added.root, "v2")
    v2_pointer = (added.root / "data/raw.mlctl").read_text()
    res = cli("data", "checkout", "--rev", "HEAD~1")
    assert res.exit_code == 0, res.stderr
    assert snapshot(added) == v1
    assert (added.root / "data/raw.mlctl").read_text() != v2_pointer
    assert cli("data", "status").exit_code == 0
    assert cli("data", "checkout", "--rev", "HEAD", "model.bin").exit_code == 0
    assert (added.root / "model.bin").read_bytes() == b"v2 model"
    assert (added.root / "data/raw/a.txt").read_text() == "alpha\n"  # only the named path moved


def test_rev_errors(cli, added):
    commit_all(added.root, "v1")
    res = cli("data", "checkout", "--rev", "no-such-rev")
    assert res.exit_code == 2 and "unknown git revision: no-such-rev" in res.stderr
    res = cli("data", "checkout", "--rev", "HEAD", "not/tracked")
    assert res.exit_code == 2 and "not tracked at HEAD" in res.stderr


def test_missing_object_names_pull_and_changes_nothing(cli, added):
    shutil.rmtree(added.root / "data/raw")
    entries = tree.load(added.objects, read_pointer(added.root, "data/raw.mlctl").hash)
    added.objects.remove(entries[-1].hash)
    res = cli("data", "checkout")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == (f"mlctl: error: data/raw needs an object not in the local store "
                                          f"(e.g. {entries[-1].hash})")
    assert "hint: run `mlctl data pull data/raw` to fetch it" in res.stderr
    assert not (added.root / "data/raw").exists()


def test_corrupt_object_never_lands(cli, added):
    os.unlink(added.root / "model.bin")
    damage_object(added, read_pointer(added.root, "model.bin.mlctl").hash, "garbage")
    for link in ("copy", "hardlink", "symlink"):
        res = cli("data", "checkout", "model.bin", "--link", link)
        assert res.exit_code == 3, (link, res.stderr)
        assert "is corrupt" in res.stderr and "fsck --repair" in res.stderr
        assert not os.path.lexists(added.root / "model.bin")
        assert [p.name for p in added.root.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_link_modes_share_the_store_read_only(cli, added, link, as_non_root):
    before = snapshot(added)
    res = cli("data", "checkout", "--link", link, "--json")
    assert res.exit_code == 0 and res.json()["link"] == link
    assert snapshot(added) == before
    for path in [added.root / "model.bin", *(p for p in (added.root / "data/raw").rglob("*") if p.is_file())]:
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o444, path
        assert os.path.islink(path) == (link == "symlink")
        if link == "hardlink":
            assert st.st_nlink >= 2
    assert cli("data", "status").exit_code == 0
    assert cli("data", "checkout", "--link", "copy").exit_code == 0  # back to independent copies
    assert os.stat(added.root / "model.bin").st_nlink == 1 and not os.path.islink(added.root / "model.bin")
    assert stat.S_IMODE(os.stat(added.root / "model.bin").st_mode) & 0o200


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_root_gets_copies_not_links(cli, added, link, monkeypatch):
    """Root writes through 0444, so a hardlink or symlink would let an ordinary append
    change the only stored copy: as root they fall back to reflink/copy, with a warning."""
    if os.geteuid() != 0:  # the claim is about root; elsewhere, pretend to be it
        monkeypatch.setattr("mlctl.data.links.running_as_root", lambda: True)
    digest = read_pointer(added.root, "model.bin.mlctl").hash
    os.unlink(added.root / "model.bin")
    res = cli("data", "checkout", "--link", link, "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["link"] in ("reflink", "copy")
    assert f"mlctl: warning: {link} as root would let a write to a checked-out file change the only stored copy" in res.stderr
    target = added.root / "model.bin"
    assert not os.path.islink(target) and os.stat(target).st_ino != os.stat(added.objects.path(digest)).st_ino
    with open(target, "ab") as out:
        out.write(b"appended")
    assert cli("fsck").exit_code == 0  # the store's copy is untouched
    assert cli("data", "status").exit_code == 1


def test_fsck_names_an_object_changed_through_a_link(cli, added):
    """What the root fallback prevents: a write through a hardlink changes the object;
    fsck names it."""
    digest = read_pointer(added.root, "model.bin.mlctl").hash
    os.unlink(added.root / "model.bin")
    os.link(added.objects.path(digest), added.root / "model.bin")
    os.chmod(added.root / "model.bin", 0o644)
    with open(added.root / "model.bin", "ab") as out:
        out.write(b"appended")
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    assert [c["object"] for c in res.json()["corrupt"]] == [digest]


def test_reflink_probe_falls_back_to_copy_with_a_warning(cli, added, monkeypatch):
    def no_clone(src, dst, perms=0o444):
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr("mlctl.data.links._reflink", no_clone)
    os.unlink(added.root / "model.bin")
    res = cli("data", "checkout", "--link", "reflink", "--json")
    assert res.exit_code == 0 and res.json()["link"] == "copy"
    assert "mlctl: warning: reflink is not possible here (Operation not supported); copied instead" in res.stderr
    assert os.stat(added.root / "model.bin").st_nlink == 1


def test_reflink_on_this_filesystem_gives_a_private_copy(cli, added):
    linker = Linker(added.objects, "reflink")
    mode = linker.mode_for(added.root)
    os.unlink(added.root / "model.bin")
    assert cli("data", "checkout", "--link", "reflink").exit_code == 0
    assert mode in ("reflink", "copy")
    assert os.stat(added.root / "model.bin").st_nlink == 1
    assert stat.S_IMODE(os.stat(added.root / "model.bin").st_mode) & 0o200


def test_configured_link_mode_and_add_relinks(cli, sample, as_non_root):
    assert cli("config", "set", "data.link", "hardlink").exit_code == 0
    assert cli("data", "add", "model.bin").exit_code == 0
    assert os.stat(sample.root / "model.bin").st_nlink == 2  # add made it a link into the store
    res = cli("config", "set", "data.link", "softlink")
    assert res.exit_code == 2 and "expected copy, reflink, hardlink or symlink" in res.stderr
    res = cli("data", "checkout", "--link", "junction")
    assert res.exit_code == 2 and "unknown link mode 'junction'" in res.stderr


def test_exec_bit_survives_a_copy_checkout(cli, sample):
    tool = sample.root / "data/raw/run.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    add(sample, ["data/raw"])
    shutil.rmtree(sample.root / "data/raw")
    assert cli("data", "checkout").exit_code == 0
    assert os.stat(tool).st_mode & 0o100 and not os.stat(sample.root / "data/raw/a.txt").st_mode & 0o100


def test_file_and_folder_swap_places(cli, sample):
    add(sample, ["model.bin"])
    os.unlink(sample.root / "model.bin")
    write_tree(sample.root, {"model.bin/part": "x"})
    res = cli("data", "checkout")
    assert res.exit_code == 2 and "model.bin/part" in res.stderr
    assert cli("data", "checkout", "--force").exit_code == 0
    assert (sample.root / "model.bin").is_file()


def test_checkout_records_the_stat_cache(added, monkeypatch):
    """What checkout wrote is in the stat cache: status re-reads nothing (with the racy
    window shrunk to zero, since every file here was written within milliseconds)."""
    from mlctl.data.status import status
    from tests.data.test_add import count_reads

    monkeypatch.setattr("mlctl.store.statcache.RACY_NS", 0)
    shutil.rmtree(added.root / "data/raw")
    os.unlink(added.root / "model.bin")
    checkout(added)
    reads = count_reads(monkeypatch)
    assert not status(added).changed
    assert reads == []


def test_never_writes_through_a_symlink_out_of_the_workspace(cli, sample, tmp_path):
    add(sample, ["data/raw"])
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(sample.root / "data/raw")
    os.symlink(outside, sample.root / "data/raw")
    res = cli("data", "checkout")
    assert res.exit_code == 2 and "leads outside the workspace" in res.stderr
    assert list(outside.iterdir()) == []


def test_an_empty_tracked_folder_comes_back_as_a_folder(cli, sample):
    (sample.root / "data/empty").mkdir()
    assert cli("data", "add", "data/empty").exit_code == 0
    (sample.root / "data/empty").rmdir()
    assert cli("data", "status").exit_code == 1
    res = cli("data", "checkout", "data/empty")
    assert res.exit_code == 0, res.stderr
    assert (sample.root / "data/empty").is_dir() and cli("data", "status", "data/empty").exit_code == 0


def test_new_small_files_are_written_in_place_others_through_a_rename(repo, monkeypatch):
    from mlctl.data.links import Linker
    from mlctl.store import fastio

    small = repo.objects.put_bytes(b"small\n")
    big_bytes = os.urandom(fastio.SMALL + 1)
    big = repo.objects.put_bytes(big_bytes)
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: renames.append(os.path.basename(b)) or real_replace(a, b))
    linker = Linker(repo.objects, "copy")
    linker.place(small, str(repo.root / "new.txt"), 0o644, "copy")
    (repo.root / "old.txt").write_text("edited\n")
    linker.place(small, str(repo.root / "old.txt"), 0o644, "copy")
    linker.place(big, str(repo.root / "big.bin"), 0o644, "copy")
    assert renames == ["old.txt", "big.bin"]  # replacing, or too big to verify before writing
    assert (repo.root / "new.txt").read_bytes() == (repo.root / "old.txt").read_bytes() == b"small\n"
    assert (repo.root / "big.bin").read_bytes() == big_bytes
    assert not [p for p in repo.root.iterdir() if ".tmp-" in p.name]


def test_temp_files_a_killed_checkout_left_are_removed_not_refused(cli, added):
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that has exited: its temp files are garbage
    dead = added.root / f"data/raw/sub/.c.txt.tmp-{gone.pid}-0a1b2c3d"
    dead.write_text("half a file")
    live = added.root / f"data/raw/.a.txt.tmp-{os.getpid()}-0a1b2c3d"  # a writer still running: hands off
    live.write_text("being written")
    res = cli("data", "checkout")
    assert res.exit_code == 2 and ".a.txt.tmp-" in res.stderr and ".c.txt.tmp-" not in res.stderr
    live.unlink()
    res = cli("data", "checkout")
    assert res.exit_code == 0, res.stderr
    assert not dead.exists() and cli("data", "status").exit_code == 0
