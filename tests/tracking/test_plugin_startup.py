"""Tracking in status/gc/fsck, and `run log`/`run list` staying startup-bound."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlctl.store.gc import gc
from mlctl.tracking.plugin import _run_objects
from tests.cli.test_startup import PROBE
from tests.conftest import PROJECT


@pytest.mark.parametrize("args", [["run", "log", "-p", "a=1", "-m", "b=2"], ["run", "list", "-f", "metrics.b > 1"],
                                  ["run", "--help"]])
def test_run_commands_import_nothing_heavy(repo, args):
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=repo.root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(PROJECT), "PATH": os.environ["PATH"]})
    line = [l for l in proc.stderr.splitlines() if l.startswith("HEAVY=")]
    assert line and line[0] == "HEAVY=", proc.stderr


def test_gc_keeps_run_artifacts_and_fsck_reports_missing_ones(cli, repo):
    (repo.root / "model.pkl").write_bytes(b"weights")
    run_id = cli("run", "log", "--artifact", "model.pkl").stdout.strip()
    digest = cli("run", "show", run_id, "--json").json()["artifacts"]["model.pkl"]
    stray = repo.objects.put_bytes(b"unreferenced")
    result = gc(repo, grace=0)
    assert stray in result.removed and repo.objects.exists(digest)
    assert cli("fsck", "--json").json()["ok"]
    os.chmod(repo.objects.path(digest), 0o644)
    os.unlink(repo.objects.path(digest))
    res = cli("fsck", "--json")
    assert res.exit_code == 1
    [missing] = res.json()["missing"]
    assert (missing["what"], missing["object"]) == (f"run {run_id} artifact model.pkl", digest)
    assert missing["problem"].startswith("not in the store")  # on a backend: "(and no remote to look on ...)"


def test_config_keys(cli, repo):
    assert cli("config", "set", "tracking.experiment", "churn").exit_code == 0
    run_id = cli("run", "log").stdout.strip()
    assert cli("run", "show", run_id, "--json").json()["experiment"] == "churn"
    assert cli("config", "set", "tracking.flush_interval", "-1").exit_code == 2


def test_gc_keeps_shared_run_records(cli, repo, tmp_path):
    """A pushed run's exported record is an object the runs index names: gc keeps it."""
    (repo.root / "model.pkl").write_bytes(b"weights")
    assert cli("run", "log", "--artifact", "model.pkl").exit_code == 0
    assert cli("remote", "add", "origin", tmp_path / "remote", "--default").exit_code == 0
    assert cli("run", "push").exit_code == 0
    records = {record for _run, what, record in _run_objects(repo) if what == "record"}
    assert len(records) == 1
    assert cli("gc", "--grace", "0").exit_code == 0
    assert all(repo.objects.exists(d) for d in records)
    assert cli("fsck").exit_code == 0
