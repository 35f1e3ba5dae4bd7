"""store/tree.py, store/materialize.py and store/tree_legacy.py: the one folder format,
written out and walked, and the older registry form read as a tree."""

from __future__ import annotations

import json
import os

import pytest

from mlctl.errors import StoreDamageError, UsageError
from mlctl.store import tree
from mlctl.store.materialize import materialize
from mlctl.store.objects import ObjectStore
from mlctl.store.paths import UnsafePathError


@pytest.fixture
def objects(tmp_path):
    return ObjectStore(tmp_path / "objects")


def _folder(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha")
    (src / "sub" / "run.sh").write_bytes(b"#!/bin/sh\n")
    os.chmod(src / "sub" / "run.sh", 0o755)
    return src


def _old_registry_tree(objects, rows) -> str:
    """The registry's first model-folder tree, by hand (what mlctl wrote before)."""
    doc = {"format": "mlctl.registry.tree/1", "files": rows}
    return objects.put_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


def test_build_stores_files_then_a_tree_that_reads_back(objects, tmp_path):
    src = _folder(tmp_path)
    digest, entries = tree.build(objects, [("a.txt", src / "a.txt"), ("sub/run.sh", src / "sub" / "run.sh")])
    assert tree.load(objects, digest) == entries
    assert [e.mode for e in entries] == [tree.FILE_MODE, tree.EXEC_MODE]
    assert objects.get_bytes(digest).startswith(b'{"files":[["a.txt","')
    assert tree.walk(objects, digest) == [digest, *(e.hash for e in entries)]


def test_walk_of_a_missing_or_damaged_tree_is_the_tree_alone(objects):
    absent = "0" * 32
    assert tree.walk(objects, absent) == [absent]
    junk = objects.put_bytes(b"not a tree")
    assert tree.walk(objects, junk) == [junk]


def test_materialize_writes_files_links_and_empty_folders_verified(objects, tmp_path):
    link = objects.put_bytes(b"a.txt")
    empty = objects.put_bytes(b"")
    digest, entries = tree.build(objects, [("a.txt", _folder(tmp_path) / "a.txt")])
    entries += [tree.Entry("l", link, 5, tree.LINK_MODE), tree.Entry("e/f", empty, 0, tree.DIR_MODE)]
    dest = tmp_path / "out"
    materialize(objects, tree.decode(tree.encode(entries)), dest)
    assert (dest / "a.txt").read_bytes() == b"alpha" and os.readlink(dest / "l") == "a.txt"
    assert (dest / "e" / "f").is_dir() and (dest / "a.txt").stat().st_mode & 0o777 == 0o644


def test_materialize_readonly_drops_write_bits(objects, tmp_path):
    src = _folder(tmp_path)
    _digest, entries = tree.build(objects, [("sub/run.sh", src / "sub" / "run.sh")])
    materialize(objects, entries, tmp_path / "out", readonly=True)
    assert (tmp_path / "out" / "sub" / "run.sh").stat().st_mode & 0o777 == 0o555


@pytest.mark.parametrize("target", ["../outside", "/etc/passwd", ".git/config"])
def test_materialize_refuses_a_link_leaving_the_folder_before_writing(objects, tmp_path, target):
    entries = [tree.Entry("a", objects.put_bytes(b"x"), 1), tree.Entry("l", objects.put_bytes(target.encode()), 1, tree.LINK_MODE)]
    with pytest.raises(StoreDamageError, match="leaves its folder"):
        materialize(objects, entries, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_materialize_removes_a_chain_of_links_that_climbs_out(objects, tmp_path):
    up, climb = b"..", b"a/b/up/../.."  # each inside on paper; together one level above the folder
    entries = [tree.Entry("a/b/up", objects.put_bytes(up), 2, tree.LINK_MODE),
               tree.Entry("z", objects.put_bytes(climb), 12, tree.LINK_MODE)]
    with pytest.raises(StoreDamageError, match="resolves outside"):
        materialize(objects, entries, tmp_path / "out")
    assert not os.path.lexists(tmp_path / "out" / "z") and not os.path.lexists(tmp_path / "out" / "a" / "b" / "up")


def test_materialize_does_not_write_through_a_symlinked_folder(objects, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "sub").symlink_to(tmp_path)
    entries = [tree.Entry("sub/x", objects.put_bytes(b"x"), 1)]
    with pytest.raises(UnsafePathError):
        materialize(objects, entries, dest)
    assert not (tmp_path / "x").exists()


def test_an_old_registry_tree_reads_as_a_tree(objects):
    a, b = objects.put_bytes(b"a"), objects.put_bytes(b"bb")
    digest = _old_registry_tree(objects, [{"path": "MLmodel", "hash": a, "size": 1, "exec": False},
                                          {"path": "bin/run", "hash": b, "size": 2, "exec": True}])
    assert tree.load(objects, digest) == [tree.Entry("MLmodel", a, 1, tree.FILE_MODE),
                                          tree.Entry("bin/run", b, 2, tree.EXEC_MODE)]
    assert tree.hashes(objects, digest) == [a, b] and tree.walk(objects, digest) == [digest, a, b]


@pytest.mark.parametrize("row", [
    {"path": "../evil", "hash": "a" * 32, "size": 1, "exec": False},
    {"path": ".git/hooks/post-checkout", "hash": "a" * 32, "size": 1, "exec": True},
    {"path": "ok", "hash": "../../x", "size": 1, "exec": False},
    {"path": "ok", "hash": "a" * 32, "size": -1, "exec": False},
])
def test_a_hostile_old_registry_tree_is_refused(objects, row):
    digest = _old_registry_tree(objects, [row])
    with pytest.raises(StoreDamageError):
        tree.load(objects, digest)


def test_an_old_registry_tree_listing_a_path_twice_is_refused(objects):
    row = {"path": "m", "hash": "a" * 32, "size": 1, "exec": False}
    with pytest.raises(StoreDamageError, match="twice"):
        tree.load(objects, _old_registry_tree(objects, [row, row]))


def test_build_refuses_a_name_no_tree_may_hold_before_storing_anything(objects, tmp_path):
    src = _folder(tmp_path)
    with pytest.raises(UsageError, match="cannot store") as err:
        tree.build(objects, [("a.txt", src / "a.txt"), ("m/.git/config", src / "a.txt")])
    assert err.value.exit_code == 2 and list(objects.iter_hashes()) == []
