"""Deployment records, and the registry in status, gc and fsck."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlctl.errors import UsageError
from mlctl.registry import aliases, deployments, versions
from mlctl.store.gc import gc
from tests.factories import damage_object


@pytest.fixture
def churn(repo, model_files):
    versions.register(repo, "churn", model_files / "good.pkl")
    versions.register(repo, "churn", model_files / "weak.pkl")
    aliases.set_alias(repo, "churn", "production", 1)
    return repo


def test_record_list_update_remove(churn):
    dep = deployments.record_deployment(churn, "churn", 1, host="127.0.0.1", port=8080, alias="production")
    [record] = deployments.list_deployments(churn, "churn")
    assert record["id"] == dep and record["pid"] == os.getpid() and record["stale"] is False
    assert record["alias"] == "production" and record["port"] == 8080 and record["started"]
    deployments.update_deployment(churn, "churn", dep, version=2)
    assert deployments.list_deployments(churn)[0]["version"] == 2
    deployments.remove_deployment(churn, "churn", dep)
    assert deployments.list_deployments(churn) == []


def test_dead_process_is_stale_and_pruned(churn):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    deployments.record_deployment(churn, "churn", 1, host="127.0.0.1", port=9000, pid=proc.pid)
    alive = deployments.record_deployment(churn, "churn", 1, host="127.0.0.1", port=9001)
    stale = {d["port"]: d["stale"] for d in deployments.list_deployments(churn, "churn")}
    assert stale == {9000: True, 9001: False}
    assert [d["id"] for d in deployments.live_deployments(churn, "churn")] == [alive]
    assert len(deployments.prune_stale(churn)) == 1
    assert len(deployments.list_deployments(churn)) == 1


def test_pid_reuse_and_other_hosts(churn):
    dep = deployments.record_deployment(churn, "churn", 1, host="h", port=1)
    deployments.update_deployment(churn, "churn", dep, pid_start=1)  # another process now has this pid
    assert deployments.list_deployments(churn)[0]["stale"] is True
    deployments.update_deployment(churn, "churn", dep, hostname="elsewhere")
    assert deployments.list_deployments(churn)[0]["stale"] is None


def test_delete_refused_while_served(churn):
    dep = deployments.record_deployment(churn, "churn", 2, host="127.0.0.1", port=8080)
    with pytest.raises(UsageError, match="being served at 127.0.0.1:8080"):
        versions.delete_version(churn, "churn:2")
    deployments.remove_deployment(churn, "churn", dep)
    versions.delete_version(churn, "churn:2")


def test_status_section(churn, cli):
    deployments.record_deployment(churn, "churn", 1, host="127.0.0.1", port=8080, alias="production")
    doc = cli("status", "--json").json()
    assert doc["models"]["churn"]["latest"] == 2 and doc["models"]["churn"]["versions"] == 2
    assert doc["models"]["churn"]["aliases"] == {"production": 1}
    assert doc["models"]["churn"]["deployments"][0]["port"] == 8080
    text = cli("status").stdout
    assert "churn: 2 versions, latest 2; production -> 1; serving v1 at 127.0.0.1:8080" in text


def test_gc_keeps_versions_and_frees_deleted(churn, mlflow_sklearn):
    folder = versions.register(churn, "folder", mlflow_sklearn)
    v2 = versions.get_version(churn, "churn:2")
    before = set(churn.objects.iter_hashes())
    result = gc(churn, grace=0)
    assert result.removed == [] and set(churn.objects.iter_hashes()) == before
    versions.delete_version(churn, "churn:2")
    result = gc(churn, grace=0)
    assert set(result.removed) == {v2.artifact_hash, v2.record_hash}
    from mlctl.registry.api import load_model

    assert load_model(churn, "churn@production").classes_ == ["no", "yes"]
    assert load_model(churn, folder).classes_ == ["no", "yes"]


def test_fsck_reports_missing_registry_objects(churn, cli, mlflow_sklearn):
    from mlctl.registry.artifacts import read_manifest

    folder = versions.register(churn, "folder", mlflow_sklearn)
    assert cli("fsck").exit_code == 0
    v1 = versions.get_version(churn, "churn:1")
    damage_object(churn, v1.artifact_hash, "missing")
    member = read_manifest(churn, folder.artifact_hash)[0].hash
    damage_object(churn, member, "missing")
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    missing = {(m["what"], m["object"]) for m in res.json()["missing"]}
    assert ("model churn:1 artifact", v1.artifact_hash) in missing
    assert ("model folder:1 artifact", member) in missing


def test_deployments_command(churn, cli):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    deployments.record_deployment(churn, "churn", 1, host="127.0.0.1", port=9000, pid=proc.pid)
    deployments.record_deployment(churn, "churn", 1, host="127.0.0.1", port=9001, alias="production")
    lines = cli("model", "deployments").stdout.splitlines()
    assert lines[0].split() == ["model", "version", "alias", "address", "pid", "host", "state", "started"]
    assert sorted(line.split()[-3] for line in lines[1:]) == ["running", "stale"]
    doc = cli("model", "deployments", "churn", "--prune", "--json").json()
    assert len(doc["pruned"]) == 1 and [d["port"] for d in doc["deployments"]] == [9001]
    assert cli("model", "deployments", "nope/x").exit_code == 2
