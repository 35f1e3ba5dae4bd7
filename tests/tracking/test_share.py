"""`run push` / `run pull` between two repositories through a folder and an S3 remote."""

from __future__ import annotations

import math

import pytest

import mlctl
from mlctl.tracking.runs import count_runs, get_run, list_runs
from tests.data.conftest import moto_endpoint, s3_bucket, s3_env  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("separate_indexes")


@pytest.fixture
def machines(two_clones):
    """Two repositories ("laptop", "ci") sharing the folder remote "origin"."""
    return two_clones("laptop", "ci")


def _train(repo, name, acc, artifact: bytes | None = None):
    with mlctl.start_run(repo=repo.root, experiment="shared", name=name, params={"C": 1}) as run:
        for step in range(50):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metric("acc", acc)
        run.log_metric("nan", math.nan)
        if artifact is not None:
            path = repo.root / f"{name}.bin"
            path.write_bytes(artifact)
            run.log_artifact(path)
    return run.id


def test_push_then_pull_carries_runs_and_artifacts(cli, machines, monkeypatch):
    laptop, ci = machines
    a = _train(laptop, "a", 0.9, b"model-a")
    b = _train(laptop, "b", 0.8)
    res = cli("run", "push", "--json")
    assert res.exit_code == 0, res.stderr
    assert sorted(res.json()["runs"]) == sorted([a, b]) and res.json()["unchanged"] == 0
    monkeypatch.chdir(ci.root)
    res = cli("run", "pull", "--json")
    assert res.exit_code == 0, res.stderr
    assert sorted(res.json()["runs"]) == sorted([a, b])
    there = get_run(ci, a)
    here = get_run(laptop, a)
    assert there.to_json() | {"origin": None} == here.to_json() | {"origin": None}
    assert there.origin == "origin"
    assert there.metric_history("loss") == here.metric_history("loss") and math.isnan(there.metrics["nan"])
    assert ci.objects.get_bytes(there.artifacts["a.bin"]) == b"model-a"
    assert [r.id for r in list_runs(ci, filter_expr="metrics.acc > 0.85")] == [a]
    assert cli("fsck", "--json").json()["ok"]


def test_pulling_twice_changes_nothing_and_pushing_twice_moves_nothing(cli, machines, monkeypatch):
    laptop, ci = machines
    run_id = _train(laptop, "a", 0.9, b"weights")
    assert cli("run", "push", "--json").json()["runs"] == [run_id]
    again = cli("run", "push", "--json").json()
    assert again["runs"] == [] and again["unchanged"] == 1 and again["objects"] == 0
    monkeypatch.chdir(ci.root)
    cli("run", "pull")
    before = get_run(ci, run_id).to_json()
    again = cli("run", "pull", "--json").json()
    assert again["runs"] == [] and again["unchanged"] == 1 and again["objects"] == 0
    assert get_run(ci, run_id).to_json() == before and count_runs(ci) == 1


def test_both_machines_see_each_others_runs(cli, machines, monkeypatch):
    laptop, ci = machines
    mine = _train(laptop, "laptop-run", 0.7)
    cli("run", "push")
    monkeypatch.chdir(ci.root)
    theirs = _train(ci, "ci-run", 0.75)
    cli("run", "push")
    cli("run", "pull")
    monkeypatch.chdir(laptop.root)
    cli("run", "pull")
    for repo in (laptop, ci):
        assert {r.id for r in list_runs(repo)} == {mine, theirs}


def test_a_changed_run_is_pushed_again_and_updates_the_other_side(cli, machines, monkeypatch):
    laptop, ci = machines
    run_id = _train(laptop, "a", 0.9)
    cli("run", "push")
    monkeypatch.chdir(ci.root)
    cli("run", "pull")
    monkeypatch.chdir(laptop.root)
    cli("run", "tag", run_id, "reviewed=yes")
    assert cli("run", "push", "--json").json()["runs"] == [run_id]
    monkeypatch.chdir(ci.root)
    assert cli("run", "pull", "--json").json()["runs"] == [run_id]
    assert get_run(ci, run_id).tags == {"reviewed": "yes"}


def test_a_run_changed_on_both_sides_keeps_the_local_version(cli, machines, monkeypatch):
    laptop, ci = machines
    run_id = _train(laptop, "a", 0.9)
    cli("run", "push")
    monkeypatch.chdir(ci.root)
    cli("run", "pull")
    cli("run", "tag", run_id, "side=ci")
    monkeypatch.chdir(laptop.root)
    cli("run", "tag", run_id, "side=laptop")
    cli("run", "push")
    monkeypatch.chdir(ci.root)
    res = cli("run", "pull")
    assert res.exit_code == 0 and f"run {run_id} changed here and on origin" in res.stderr
    assert get_run(ci, run_id).tags == {"side": "ci"}


def test_running_and_deleted_runs_stay_home(cli, machines):
    laptop, _ci = machines
    done = _train(laptop, "done", 0.5)
    gone = _train(laptop, "gone", 0.5)
    cli("run", "delete", gone)
    with mlctl.start_run(repo=laptop.root) as active:
        assert cli("run", "push", "--json").json()["runs"] == [done]
        res = cli("run", "push", active.id)
        assert res.exit_code == 2 and "only ended runs are shared" in res.stderr


def test_push_and_pull_errors(cli, repo):
    res = cli("run", "push")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: no remote configured")
    res = cli("run", "pull", "-r", "nope")
    assert res.exit_code == 2 and "unknown remote: nope" in res.stderr


def test_select_runs_to_pull(cli, machines, monkeypatch):
    laptop, ci = machines
    a = _train(laptop, "a", 0.1)
    _train(laptop, "b", 0.2)
    cli("run", "push")
    monkeypatch.chdir(ci.root)
    assert cli("run", "pull", a[:14], "--json").json()["runs"] == [a]
    res = cli("run", "pull", "01ZZZZZZ")
    assert res.exit_code == 2 and "matches no run on the remote" in res.stderr


def test_share_through_s3(cli, make_repo, s3_bucket, monkeypatch):  # noqa: F811
    from mlctl.store.remotes import add_remote

    laptop, ci = make_repo("laptop"), make_repo("ci")
    for repo in (laptop, ci):
        add_remote(repo, "s3", f"s3://{s3_bucket}/team", default=True)
    run_id = _train(laptop, "a", 0.9, b"artifact-bytes")
    monkeypatch.chdir(laptop.root)
    assert cli("run", "push", "--json").json()["runs"] == [run_id]
    monkeypatch.chdir(ci.root)
    assert cli("run", "pull", "--json").json()["runs"] == [run_id]
    assert ci.objects.get_bytes(get_run(ci, run_id).artifacts["a.bin"]) == b"artifact-bytes"
    assert cli("run", "pull", "--json").json()["unchanged"] == 1


def test_run_records_read_with_their_kind_and_version_checked(machines):
    from mlctl.errors import StoreDamageError
    from mlctl.tracking.records import export_record, parse_record

    laptop, _ci = machines
    data = export_record(laptop, _train(laptop, "a", 0.9))
    assert parse_record(data, "d")["name"] == "a"
    assert data.endswith(b',"version":1}')  # sorted keys: the last one
    assert "version" not in parse_record(data[: -len(b',"version":1}')] + b"}", "d")  # read as before
    assert parse_record(data[: -len(b'1}')] + b"2}", "d")["name"] == "a"  # 2: its artifacts may be a tree
    with pytest.raises(StoreDamageError) as newer:
        parse_record(data[: -len(b'1}')] + b"3}", "d")
    assert "run record d is a mlctl.run record of version 3" in newer.value.message
    assert newer.value.hint == "upgrade mlctl"
    with pytest.raises(StoreDamageError, match="run record d is not a mlctl.run record"):
        parse_record(data.replace(b'"kind":"mlctl.run"', b'"kind":"mlctl.manifest"'), "d")
