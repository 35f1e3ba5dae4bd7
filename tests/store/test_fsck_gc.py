"""fsck and gc against deliberately damaged stores; roots come from component plugins."""

from __future__ import annotations

import os
import time
import types

import pytest

from mlctl.store import fsck as fsck_mod
from mlctl.store import gcscope as gc_mod
from mlctl.store.atomic import temp_path_for
from tests.factories import DAMAGE_KINDS, damage_object


@pytest.fixture
def with_roots(monkeypatch):
    """Register a fake component whose roots and references are given by the test."""
    state = {"roots": set(), "missing": []}
    hooks = types.SimpleNamespace(
        gc_roots=lambda repo: state["roots"],
        fsck_refs=lambda repo: state["missing"],
    )
    fake = lambda: iter([("fake", hooks)])  # noqa: E731
    monkeypatch.setattr(fsck_mod, "iter_plugins", fake)
    monkeypatch.setattr(gc_mod, "iter_plugins", fake)
    return state


def _age(repo, digest, seconds):
    path = repo.objects.path(digest)
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_fsck_reports_corrupt_and_truncated(cli, repo):
    good = repo.objects.put_bytes(b"good")
    bad = repo.objects.put_bytes(b"will be damaged")
    short = repo.objects.put_bytes(b"will be truncated" * 100)
    damage_object(repo, bad, "garbage")
    damage_object(repo, short, "truncate")
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["ok"] is False and doc["objects_checked"] == 3
    assert {c["object"] for c in doc["corrupt"]} == {bad, short}
    res = cli("fsck", "--repair")
    assert res.exit_code == 1
    assert not repo.objects.exists(bad) and repo.objects.exists(good)
    assert cli("fsck").exit_code == 0


@pytest.mark.parametrize("kind", DAMAGE_KINDS)
def test_fsck_names_the_damaged_object_of_a_tracked_file(cli, make_damaged_store, monkeypatch, kind):
    repo, digest = make_damaged_store(kind)
    monkeypatch.chdir(repo.root)
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    found = res.json()["missing" if kind == "missing" else "corrupt"]
    assert [entry["object"] for entry in found] == [digest]


def test_fsck_reports_missing_references(cli, repo, with_roots):
    with_roots["missing"].append({"what": "pointer data/x.mlctl", "object": "0" * 32, "problem": "not in the store"})
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    assert res.json()["missing"][0]["what"] == "pointer data/x.mlctl"


def test_gc_removes_only_old_unreferenced(cli, repo, with_roots):
    keep = repo.objects.put_bytes(b"referenced")
    old = repo.objects.put_bytes(b"old garbage")
    young = repo.objects.put_bytes(b"young garbage")
    with_roots["roots"].add(keep)
    for d in (keep, old):
        _age(repo, d, 3 * 86400)
    res = cli("gc", "--dry-run", "--json")
    assert res.exit_code == 0 and res.json()["removed_objects"] == [old]
    assert repo.objects.exists(old)
    res = cli("gc", "--json")
    doc = res.json()
    assert doc["removed"] == 1 and doc["referenced"] == 1 and doc["kept_recent"] == 1
    assert repo.objects.exists(keep) and repo.objects.exists(young) and not repo.objects.exists(old)
    assert cli("gc", "--grace", "0s").exit_code == 0
    assert not repo.objects.exists(young) and repo.objects.exists(keep)


def test_gc_removes_dead_writers_temp_files(cli, repo, with_roots):
    dead = repo.tmp_dir / ".object.tmp-999999999-abcd"
    dead.write_bytes(b"partial")
    live = temp_path_for(repo.tmp_dir / "object")  # this process: alive, recent
    live.write_bytes(b"in progress")
    assert cli("fsck", "--json").json()["temp_files"] == 2
    res = cli("gc", "--json")
    assert res.json()["temp_removed"] == 1
    assert not dead.exists() and live.exists()


def test_gc_bad_grace(cli, repo):
    res = cli("gc", "--grace", "tomorrow")
    assert res.exit_code == 2 and "invalid --grace: 'tomorrow'" in res.stderr and "15m" in res.stderr
