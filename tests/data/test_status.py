"""`mlctl data status`: stat-only when nothing changed; file-level changes; exit codes."""

from __future__ import annotations

import os
import time

import pytest

from mlctl.data.add import add
from mlctl.data.pointer import read as read_pointer
from mlctl.data.status import status
from mlctl.store import tree
from mlctl.store.statcache import RACY_NS
from tests.data.test_add import count_reads, settle


@pytest.fixture
def added(sample):
    settle(sample.root)
    add(sample, ["data/raw", "model.bin"])
    return sample


def test_unchanged_is_exit_0_and_reads_no_file(cli, added, monkeypatch):
    reads = count_reads(monkeypatch)
    res = cli("data", "status")
    assert res.exit_code == 0 and res.stdout == "" and "data up to date (2 tracked paths)" in res.stderr
    assert reads == []
    loads = []
    monkeypatch.setattr(tree, "load", lambda *a, **k: loads.append(a) or [])
    assert cli("data", "status", "--json").json() == {"changed": False, "tracked": 2, "paths": []}
    assert reads == [] and loads == []  # the folder's listing fingerprint answered


def test_changes_inside_a_folder_are_listed_file_by_file(cli, added):
    (added.root / "data/raw/a.txt").write_text("ALPHA\n")
    (added.root / "data/raw/sub/new.txt").write_text("new\n")
    os.unlink(added.root / "data/raw/sub/deep/d.bin")
    os.unlink(added.root / "model.bin")
    res = cli("data", "status")
    assert res.exit_code == 1
    assert res.stdout.splitlines() == [
        "modified:     data/raw",
        "  added:      data/raw/sub/deep",  # left empty: an empty folder is recorded data (issue 17)
        "  added:      data/raw/sub/new.txt",
        "  modified:   data/raw/a.txt",
        "  deleted:    data/raw/sub/deep/d.bin",
        "deleted:      model.bin",
    ]
    doc = cli("data", "status", "--json").json()
    assert doc["changed"] is True and doc["tracked"] == 2
    raw, model = doc["paths"]
    assert raw == {"path": "data/raw", "kind": "dir", "state": "modified", "in_store": True,
                   "added": ["data/raw/sub/deep", "data/raw/sub/new.txt"], "modified": ["data/raw/a.txt"],
                   "deleted": ["data/raw/sub/deep/d.bin"]}
    assert model["state"] == "deleted"


def test_modified_tracked_file(cli, added):
    (added.root / "model.bin").write_bytes(b"retrained")
    res = cli("data", "status", "model.bin")
    assert res.exit_code == 1 and res.stdout.strip() == "modified:     model.bin"


def test_not_in_store_names_pull(cli, added):
    entries = tree.load(added.objects, (added.root / "data/raw.mlctl").read_text().split("hash: ")[1][:32])
    added.objects.remove(entries[0].hash)
    res = cli("data", "status")
    assert res.exit_code == 1
    assert "not in store: data/raw" in res.stdout and "mlctl data pull" in res.stderr
    doc = cli("data", "status", "--json").json()
    assert doc["paths"][0]["in_store"] is False and doc["paths"][0]["state"] == "unchanged"


def test_fresh_clone_without_objects(cli, added):
    import shutil

    shutil.rmtree(added.objects.root)
    shutil.rmtree(added.root / "data/raw")
    doc = cli("data", "status", "--json").json()
    assert {p["path"]: (p["state"], p["in_store"]) for p in doc["paths"]} == {
        "data/raw": ("deleted", False), "model.bin": ("unchanged", False)}


def test_path_filter_and_unknown_path(cli, added):
    (added.root / "model.bin").write_bytes(b"changed")
    assert cli("data", "status", "data/raw").exit_code == 0
    assert cli("data", "status", "data/raw/sub").exit_code == 0  # inside a tracked folder: that folder
    res = cli("data", "status", "elsewhere")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: elsewhere is not tracked")


def test_hand_edited_pointer_is_exit_2(cli, added):
    path = added.root / "data/raw.mlctl"
    path.write_text(path.read_text().replace("kind: dir", "kind: folder"))
    res = cli("data", "status")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == ("mlctl: error: pointer data/raw.mlctl is invalid: "
                                          "kind must be file or dir, not 'folder'")


def test_core_report_object(added):
    (added.root / "data/raw/b.txt").write_text("B\n")
    report = status(added)
    assert report.changed and [p.pointer.path for p in report.paths] == ["data/raw", "model.bin"]
    assert report.paths[0].modified == ["data/raw/b.txt"] and not report.paths[1].changed


def test_the_store_check_is_remembered_until_an_object_comes_or_goes(added, monkeypatch):
    from mlctl.data import needs

    time.sleep(2 * RACY_NS / 1e9)  # the add just changed the object folders: let their ctime settle
    checks = []
    real = needs.missing_objects
    monkeypatch.setattr(needs, "missing_objects", lambda objects, digests: checks.append(len(digests))
                        or real(objects, digests))
    in_store = lambda: {p.pointer.path: p.in_store for p in status(added).paths}  # noqa: E731
    assert in_store() == {"data/raw": True, "model.bin": True} and checks == [4]
    assert in_store()["data/raw"] and checks == [4]  # remembered: no listing of the store

    [victim, *_] = tree.load(added.objects, read_pointer(added.root, "data/raw.mlctl").hash)
    data = added.objects.get_bytes(victim.hash)
    added.objects.remove(victim.hash)
    assert in_store()["data/raw"] is False and len(checks) == 2  # its folder changed: checked again
    time.sleep(2 * RACY_NS / 1e9)
    assert in_store()["data/raw"] is False and len(checks) == 3  # settled, but not what was remembered
    added.objects.put_bytes(data)
    time.sleep(2 * RACY_NS / 1e9)
    assert in_store()["data/raw"] is True and len(checks) == 4
    assert in_store()["data/raw"] is True and len(checks) == 4


def test_store_fingerprint_ignores_folders_changed_within_the_clock_tick(added):
    from mlctl.data.needs import store_fingerprint

    added.objects.put_bytes(b"just written")  # the add may be older than a tick on a loaded machine
    assert store_fingerprint(added.objects, time.time_ns()) is None  # a folder changed within the tick
    time.sleep(2 * RACY_NS / 1e9)
    first = store_fingerprint(added.objects, time.time_ns())
    assert first is not None and first == store_fingerprint(added.objects, time.time_ns())
    added.objects.put_bytes(b"one more object")
    time.sleep(2 * RACY_NS / 1e9)
    assert store_fingerprint(added.objects, time.time_ns()) not in (None, first)
