"""Drift check records: stored, listed, concurrent-safe, in status, kept by gc, seen by fsck."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pandas as pd
import pytest

from mlctl.monitoring import plugin, records
from mlctl.monitoring.drift import compute_drift
from tests.factories import damage_object

pytestmark = pytest.mark.usefixtures("backend")  # every test on both backends (conftest.py)


def result(shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    cur = pd.DataFrame({"a": rng.normal(shift, 1, 2000), "b": rng.normal(size=2000)})
    return compute_drift(ref, cur, drift_share=0.5)


def test_record_latest_list(repo):
    assert records.latest_check(repo) is None and records.list_checks(repo) == []
    assert not repo.db_path("monitoring").exists()  # reading never creates the database
    first = records.record_check(repo, result(), "ref.csv", "cur.csv")
    second = records.record_check(repo, result(shift=2.0), "ref.csv", "predictions:churn", model="churn")
    assert second["id"] > first["id"]
    assert records.latest_check(repo)["id"] == second["id"]
    assert records.latest_check(repo, model="churn")["dataset_drift"] is True
    assert records.latest_check(repo, model="other") is None
    listed = records.list_checks(repo)
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert listed[0]["drifted_columns"] == ["a"] and listed[0]["number_of_columns"] == 2
    full = records.get_check(repo, first["id"])
    assert full["result"]["columns"][0]["column"] == "a"
    assert records.get_check(repo, "nope") is None


def test_reports_are_stored_and_kept_by_gc(repo, tmp_path, mlctl_proc):
    report = tmp_path / "r.html"
    report.write_text("<html>report</html>")
    record = records.record_check(repo, result(), "a", "b", report_path=report)
    digest = record["report"]["object"]
    assert repo.objects.get_bytes(digest) == b"<html>report</html>"
    assert digest in set(plugin.gc_roots(repo))
    assert mlctl_proc("gc", "--grace", "0s", cwd=repo.root).returncode == 0
    assert repo.objects.exists(digest)
    damage_object(repo, digest, "missing")
    [problem] = plugin.fsck_refs(repo)
    assert (problem["what"], problem["object"]) == ("drift report", digest)
    assert problem["problem"].startswith("not in the store")  # on a backend: "(and no remote to look on ...)"
    assert mlctl_proc("fsck", cwd=repo.root).returncode == 1


def _record_many(root, worker):
    from mlctl.store.repo import Repo

    repo = Repo(root)
    for i in range(10):
        records.record_check(repo, result(seed=worker * 100 + i), f"ref{worker}", f"cur{i}")


def test_concurrent_checks_are_all_recorded(repo):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_record_many, args=(str(repo.root), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    listed = records.list_checks(repo, limit=100)
    assert len(listed) == 40 and len({r["id"] for r in listed}) == 40


def test_status_section(repo, cli):
    section = plugin.status_section(repo)
    assert section["key"] == "drift" and section["json"] is None
    records.record_check(repo, result(shift=3.0), "train.csv", "live.csv", model="churn")
    out = cli("status", "--json").json()
    assert out["drift"]["dataset_drift"] is True and out["drift"]["model"] == "churn"
    text = cli("status").stdout
    assert "DRIFT (1/2 columns drifted: a)" in text and "train.csv -> live.csv (model churn)" in text


def test_on_the_backend_a_check_is_in_every_clones_status(two_clones, backend):
    if backend != "postgresql":
        pytest.skip("clones share drift records only through a backend")
    here, there = two_clones("here", "there")
    records.record_check(here, result(shift=3.0), "train.csv", "live.csv", model="churn")
    assert not here.db_path("monitoring").exists()  # a row on the backend, no local file
    assert records.latest_check(there, model="churn")["dataset_drift"] is True


def test_on_the_backend_a_teammates_report_travels_by_the_remote(two_clones, backend, tmp_path, cli, monkeypatch):
    """Alice's check is a row bob reads at once; its HTML report is in alice's store until
    she pushes (fsck: missing); `mlctl push` sends it (its `drift` part), then bob's fsck
    says not here yet, the dashboard fetches it, and `mlctl pull` fetches the rest."""
    from tests.ui.conftest import ThreadServer

    if backend != "postgresql":
        pytest.skip("clones share drift records only through a backend")
    alice, bob = two_clones("alice", "bob")
    report = tmp_path / "r.html"
    report.write_text("<html>alice's report</html>")
    first = records.record_check(alice, result(shift=3.0), "train.csv", "live.csv", report_path=report)
    report.write_text("<html>a second report</html>")
    second = records.record_check(alice, result(), "train.csv", "live.csv", report_path=report)
    monkeypatch.chdir(bob.root)
    lost = cli("fsck", "--json")
    assert lost.exit_code == 1 and [m["what"] for m in lost.json()["missing"]] == ["drift report"] * 2
    monkeypatch.chdir(alice.root)
    pushed = cli("push", "--json").json()["parts"]["drift"]
    assert pushed["result"] == {"reports": 2, "objects": 2, "elsewhere": 0} and pushed["error"] is None
    monkeypatch.chdir(bob.root)
    assert cli("push", "--json").json()["parts"]["drift"]["result"] == {"reports": 2, "objects": 0, "elsewhere": 2}
    assert len(cli("fsck", "--json").json()["not_here"]) == 2
    with ThreadServer(bob) as client:
        page = client.get(f"/api/drift/{first['id']}/report")
        assert page.status_code == 200 and page.text == "<html>alice's report</html>"
    pulled = cli("pull", "--json").json()["parts"]["drift"]["result"]
    assert pulled == {"reports": 2, "objects": 1, "elsewhere": 0}
    assert bob.objects.get_bytes(second["report"]["object"]) == b"<html>a second report</html>"
    assert cli("fsck", "--json").json()["not_here"] == []
