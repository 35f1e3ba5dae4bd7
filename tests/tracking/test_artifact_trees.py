"""A run's artifacts are a tree (store/tree.py); runs recorded before keep a flat map
(name -> hash) that still lists, restores, push/pulls, survives gc and passes fsck."""

from __future__ import annotations

import json

import pytest

import mlctl
from mlctl.errors import StoreDamageError, UsageError
from mlctl.store import tree
from mlctl.store.fsck import fsck
from mlctl.store.gc import gc
from mlctl.tracking import share
from mlctl.tracking.artifacts import log_artifact, restore_artifacts
from mlctl.tracking.records import export_record, parse_record
from mlctl.tracking.runs import get_run
from mlctl.tracking.writes import create_run


@pytest.fixture
def old_run(repo):
    """A finished run whose artifacts are the old flat map, written by hand."""
    flat = {"model.pkl": repo.objects.put_bytes(b"weights"), "plots/roc.png": repo.objects.put_bytes(b"png")}
    run = create_run(repo, experiment="old", status="finished", artifacts=flat)
    return get_run(repo, run.id), flat


@pytest.fixture
def machines(two_clones):
    return two_clones("laptop", "ci")


def _new_run(repo) -> str:
    folder = repo.root / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"w")
    (repo.root / "notes.txt").write_text("n")
    with mlctl.start_run(repo=repo.root, experiment="new") as run:
        run.log_artifact(folder)
        run.log_artifact(repo.root / "notes.txt")
    return run.id


def test_a_new_run_keeps_its_artifacts_as_one_tree(repo):
    run = get_run(repo, _new_run(repo))
    assert isinstance(run.artifacts_value, str)
    assert [e.path for e in tree.load(repo.objects, run.artifacts_value)] == ["model/w.bin", "notes.txt"]
    assert repo.objects.get_bytes(run.artifacts["model/w.bin"]) == b"w"
    record = json.loads(export_record(repo, run.id))
    assert record["version"] == 2 and record["artifacts"] == run.artifacts_value


def test_logging_a_name_again_replaces_it_and_a_clash_is_a_usage_error(repo, tmp_path):
    run_id = _new_run(repo)
    (tmp_path / "notes.txt").write_text("newer")
    log_artifact(repo, run_id, tmp_path / "notes.txt")
    assert repo.objects.get_bytes(get_run(repo, run_id).artifacts["notes.txt"]) == b"newer"
    (tmp_path / "model").write_text("a file where a folder is")
    with pytest.raises(UsageError, match="clashes"):
        log_artifact(repo, run_id, tmp_path / "model")


def test_an_old_flat_map_lists_and_restores(repo, old_run, tmp_path):
    run, flat = old_run
    assert run.artifacts == flat
    written = restore_artifacts(repo, run, tmp_path / "out", ["plots"])
    assert written == [str(tmp_path / "out" / "plots" / "roc.png")]
    assert (tmp_path / "out" / "plots" / "roc.png").read_bytes() == b"png"


def test_an_old_flat_map_exports_the_same_record_as_before(repo, old_run):
    run, flat = old_run
    record = json.loads(export_record(repo, run.id))
    assert record["version"] == 1 and record["artifacts"] == flat


def test_old_and_new_runs_survive_gc_and_pass_fsck(repo, old_run):
    run, flat = old_run
    new = get_run(repo, _new_run(repo))
    gc(repo, grace=0)
    needed = [*flat.values(), new.artifacts_value, *new.artifacts.values()]
    assert all(repo.objects.exists(d) for d in needed)
    assert fsck(repo).ok
    for digest in (flat["model.pkl"], new.artifacts["notes.txt"]):
        (repo.objects.path(digest)).unlink()
    assert {flat["model.pkl"], new.artifacts["notes.txt"]} <= {m["object"] for m in fsck(repo).missing}


@pytest.mark.usefixtures("separate_indexes")
def test_old_and_new_runs_push_and_pull_with_their_objects(machines, monkeypatch):
    laptop, ci = machines
    flat = {"model.pkl": laptop.objects.put_bytes(b"weights")}
    old = create_run(laptop, experiment="old", status="finished", artifacts=flat).id
    new = _new_run(laptop)
    share.push(laptop)
    monkeypatch.chdir(ci.root)
    share.pull(ci)
    assert get_run(ci, old).artifacts == flat and ci.objects.get_bytes(flat["model.pkl"]) == b"weights"
    there, here = get_run(ci, new), get_run(laptop, new)
    assert there.artifacts == here.artifacts and ci.objects.exists(there.artifacts_value)
    assert all(ci.objects.get_bytes(d) == laptop.objects.get_bytes(d) for d in there.artifacts.values())


@pytest.mark.parametrize("artifacts", ["not-a-hash", {"m": "../../x"}, ["m"], 7])
def test_a_record_with_malformed_artifacts_is_refused(artifacts):
    record = {"kind": "mlctl.run", "version": 2, "id": "0" * 26, "artifacts": artifacts}
    with pytest.raises(StoreDamageError, match="malformed artifacts"):
        parse_record(json.dumps(record).encode(), "x")


def test_a_folder_holding_a_name_no_tree_may_hold_is_a_usage_error(repo, tmp_path):
    (tmp_path / "model" / ".git").mkdir(parents=True)
    (tmp_path / "model" / ".git" / "config").write_text("x")
    run_id = _new_run(repo)
    with pytest.raises(UsageError, match="cannot store 'model/.git/config'"):
        log_artifact(repo, run_id, tmp_path / "model")
    assert "model/.git/config" not in get_run(repo, run_id).artifacts
