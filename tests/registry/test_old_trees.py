"""Model folders are trees (store/tree.py); versions registered before, whose folder is the
registry's first tree form ("mlctl.registry.tree/1"), still load, push/pull, survive gc
and pass fsck."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlctl.registry import artifacts, sync, versions
from mlctl.store.records import canonical
from mlctl.registry.api import load_model
from mlctl.store import tree
from mlctl.store.fsck import fsck
from mlctl.store.gc import gc


@pytest.fixture
def backend() -> str:
    """Artifacts and refs written by older mlctl versions: the local store only."""
    return "local"


def old_put_artifact(repo, path: Path) -> dict:
    """What registry/artifacts.py's put_artifact wrote for a folder before the one tree
    format, by hand: how an old store looks."""
    entries = []
    for full in sorted(p for p in path.rglob("*") if p.is_file()):
        digest, size = repo.objects.put_file(full)
        entries.append({"path": full.relative_to(path).as_posix(), "hash": digest, "size": size,
                        "exec": bool(full.stat().st_mode & 0o100)})
    digest = repo.objects.put_bytes(canonical({"format": "mlctl.registry.tree/1", "files": entries}))
    return {"hash": digest, "kind": "dir", "size": sum(e["size"] for e in entries),
            "files": len(entries), "filename": path.name}


def register_old(repo, folder, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(artifacts, "put_artifact", old_put_artifact)
        version = versions.register(repo, "churn", folder)
    assert json.loads(repo.objects.get_bytes(version.artifact_hash))["format"] == "mlctl.registry.tree/1"
    return version


def test_a_new_folder_version_is_a_tree(repo, mlflow_sklearn):
    version = versions.register(repo, "churn", mlflow_sklearn)
    doc = json.loads(repo.objects.get_bytes(version.artifact_hash))
    assert doc["kind"] == tree.KIND and "MLmodel" in [row[0] for row in doc["files"]]


def test_an_old_folder_version_loads_from_a_verified_cache(repo, mlflow_sklearn, monkeypatch):
    version = register_old(repo, mlflow_sklearn, monkeypatch)
    model = load_model(repo, version)
    assert model.classes_ == ["no", "yes"]
    cached = repo.cache_dir / "models" / version.artifact_hash / "model.pkl"
    assert cached.read_bytes() == (mlflow_sklearn / "model.pkl").read_bytes()
    assert cached.stat().st_mode & 0o222 == 0  # read-only, as before


def test_an_old_folder_version_survives_gc_and_passes_fsck(repo, mlflow_sklearn, monkeypatch):
    version = register_old(repo, mlflow_sklearn, monkeypatch)
    needed = artifacts.object_hashes(repo, {"hash": version.artifact_hash, "kind": "dir"})
    assert len(needed) == 1 + len([p for p in mlflow_sklearn.rglob("*") if p.is_file()])
    gc(repo, grace=0)
    assert all(repo.objects.exists(d) for d in needed)
    assert fsck(repo).ok
    os.unlink(repo.objects.path(needed[-1]))
    assert needed[-1] in [m["object"] for m in fsck(repo).missing]


def test_an_old_folder_version_is_pushed_and_pulled_whole(two_clones, mlflow_sklearn, monkeypatch):
    alice, bob = two_clones("alice", "bob")
    version = register_old(alice, mlflow_sklearn, monkeypatch)
    sync.push(alice)
    monkeypatch.chdir(bob.root)
    sync.pull(bob)
    for digest in artifacts.object_hashes(alice, {"hash": version.artifact_hash, "kind": "dir"}):
        assert bob.objects.get_bytes(digest) == alice.objects.get_bytes(digest)
    assert load_model(bob, "churn:1").classes_ == ["no", "yes"]


def test_a_hostile_old_folder_tree_is_refused_on_load(repo, mlflow_sklearn, monkeypatch):
    def hostile(repo, path):
        out = old_put_artifact(repo, path)
        doc = json.loads(repo.objects.get_bytes(out["hash"]))
        doc["files"][0]["path"] = "../../escape"
        return out | {"hash": repo.objects.put_bytes(canonical(doc))}

    with monkeypatch.context() as patch:
        patch.setattr(artifacts, "put_artifact", hostile)
        version = versions.register(repo, "churn", mlflow_sklearn)
    with pytest.raises(Exception) as err:
        load_model(repo, version)
    assert getattr(err.value, "exit_code", None) == 3 and "unsafe path" in str(err.value)
    assert not (repo.root.parent / "escape").exists()
