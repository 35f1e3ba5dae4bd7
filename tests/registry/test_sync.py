"""`model push` / `model pull`: two clones sharing the registry through a folder and an S3 remote."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from mlctl.registry import aliases, deployments, sync, versions
from mlctl.registry.api import load_model
from mlctl.registry.remote_entries import event_entry
from tests.conftest import PROJECT
from tests.data.conftest import moto_endpoint, s3_bucket, s3_env  # noqa: F401  (fixtures)
from tests.registry.conftest import FEATURES, make_frame


@pytest.fixture
def backend() -> str:
    """Push and pull between clones that share no backend (two clones of one backend share their registry): the local store only."""
    return "local"


@pytest.fixture(params=["folder", "s3"])
def clones(request, two_clones):
    """Two clones ("alice", "bob") of one project sharing the default remote "origin"."""
    url = f"s3://{request.getfixturevalue('s3_bucket')}/team" if request.param == "s3" else None
    return two_clones("alice", "bob", url)


@pytest.fixture
def folder_clones(two_clones):
    return two_clones("alice", "bob")


def _in(monkeypatch, repo):
    monkeypatch.chdir(repo.root)


def _state(repo, name="churn") -> dict:
    """What a user sees of a model: versions (record hashes), aliases, history, deployments."""
    strip = ("seq", "id", "parent")
    return {"versions": {v.version: v.record_hash for v in versions.list_versions(repo, name)},
            "aliases": aliases.get_aliases(repo, name),
            "history": [{k: v for k, v in e.items() if k not in strip} for e in aliases.history(repo, name)],
            "deployments": [{k: v for k, v in d.items() if k != "stale"} for d in deployments.list_deployments(repo, name)]}


def test_a_fresh_clone_sees_everything_after_pull(cli, clones, monkeypatch, model_files, mlflow_sklearn):
    alice, bob = clones
    versions.register(alice, "churn", model_files / "weak.pkl")
    versions.register(alice, "churn", mlflow_sklearn)  # a folder artifact: manifest + files
    aliases.set_alias(alice, "churn", "production", 1, action="promote", reason="first")
    aliases.set_alias(alice, "churn", "production", 2, action="promote", reason="better")
    aliases.set_alias(alice, "churn", "staging", 1)
    aliases.record_event(alice, "churn", "retrain-reject", alias="production", version=2, reason="gates failed",
                         extra={"retrain": {"outcome": "rejected"}})
    deployments.record_deployment(alice, "churn", 2, host="127.0.0.1", port=8080, alias="production")
    pushed = cli("model", "push", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    assert pushed.json()["versions"] == ["churn:1", "churn:2"] and pushed.json()["events"] == 4
    assert pushed.json()["deployments"] == 1 and pushed.json()["models"] == ["churn"]
    _in(monkeypatch, bob)
    pulled = cli("model", "pull", "--json")
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.json()["versions"] == ["churn:1", "churn:2"] and pulled.json()["conflicts"] == []
    assert _state(bob) == _state(alice)
    assert [e["action"] for e in aliases.history(bob, "churn")][-1] == "retrain-reject"
    assert cli("model", "list", "--json").json()[0]["aliases"] == {"production": 2, "staging": 1}
    assert cli("model", "show", "churn@production", "--json").json()["version"] == 2
    model = load_model(bob, "churn@production")  # what `serve churn@production` loads
    assert len(model.predict(make_frame(5)[FEATURES])) == 5
    assert cli("model", "rollback", "churn").exit_code == 0
    assert cli("model", "promote", "churn:2", "--to", "production").exit_code == 0
    assert cli("fsck", "--json").json()["ok"]


def test_pushing_and_pulling_twice_moves_nothing(cli, clones, monkeypatch, model_files):
    alice, bob = clones
    versions.register(alice, "churn", model_files / "weak.pkl")
    aliases.set_alias(alice, "churn", "production", 1)
    assert cli("model", "push", "--json").json()["objects"] == 3  # record, artifact, event
    again = cli("model", "push", "--json").json()
    assert again | {"unchanged": 0} == sync.RegistrySyncResult("origin").to_json() and again["unchanged"] == 1
    _in(monkeypatch, bob)
    cli("model", "pull")
    before = _state(bob)
    again = cli("model", "pull", "--json").json()
    assert again["objects"] == 0 and again["versions"] == [] and again["events"] == 0
    assert _state(bob) == before
    assert cli("model", "push", "--json").json()["events"] == 0  # bob's copy of the history is alice's


def _base(cli, alice, bob, monkeypatch, model_files):
    """Both clones hold churn:1..3 with production at 1."""
    for f in ("weak.pkl", "good.pkl", "reg.pkl"):
        versions.register(alice, "churn", model_files / f)
    aliases.set_alias(alice, "churn", "production", 1, action="promote")
    sync.push(alice)
    sync.pull(bob)


@pytest.mark.parametrize("first", ["alice", "bob"])
def test_concurrent_promotions_refuse_the_second_push_then_report_it(cli, clones, monkeypatch, model_files, first):
    alice, bob = clones
    _base(cli, alice, bob, monkeypatch, model_files)
    aliases.set_alias(alice, "churn", "production", 2, action="promote")
    aliases.set_alias(bob, "churn", "production", 3, action="promote")
    winner, loser = (alice, bob) if first == "alice" else (bob, alice)
    won = {alice: 2, bob: 3}
    _in(monkeypatch, winner)
    assert cli("model", "push").exit_code == 0
    _in(monkeypatch, loser)
    refused = cli("model", "push")
    assert refused.exit_code == 1
    assert f"churn@production moved from 1 to {won[winner]} on the remote while you promoted it" in refused.stderr
    assert "mlctl model pull" in refused.stderr
    pulled = cli("model", "pull", "--json")
    assert pulled.exit_code == 1
    [conflict] = pulled.json()["conflicts"]
    assert (conflict["model"], conflict["alias"], conflict["to"], conflict["now"]) == ("churn", "production", won[loser], won[winner])
    assert aliases.get_aliases(loser, "churn")["production"] == won[winner]
    lost = [e for e in aliases.history(loser, "churn") if e.get("lost")]
    assert [e["to"] for e in lost] == [won[loser]]  # kept in the history, marked
    table = cli("model", "history", "churn").stdout.splitlines()
    assert [line for line in table if "(lost)" in line][0].split()[3:6] == ["promote", "(lost)", "1"]
    assert cli("model", "push").exit_code == 0
    _in(monkeypatch, winner)
    pulled = cli("model", "pull", "--json")  # the winner learns that a move lost to its own
    assert pulled.exit_code == 1 and pulled.json()["conflicts"][0]["to"] == won[loser]
    assert _state(winner) == _state(loser)
    assert cli("model", "pull").exit_code == 0  # reported once
    assert cli("model", "rollback", "churn", "--json").json()["to"] == 1  # the lost move is not on the stack


@pytest.mark.parametrize("first", ["alice", "bob"])
def test_a_forked_log_resolves_the_same_everywhere(folder_clones, monkeypatch, model_files, first):
    """Both pushes passed their check before either wrote: the earlier move wins in every clone."""
    from mlctl.registry import sync_push
    from mlctl.store.transfer import RemoteStore

    alice, bob = folder_clones
    _base(None, alice, bob, monkeypatch, model_files)
    aliases.set_alias(alice, "churn", "production", 2, action="promote")
    time.sleep(0.01)
    aliases.set_alias(bob, "churn", "production", 3, action="promote")
    stale = {r: sync._listing(RemoteStore.open(r)) for r in (alice, bob)}  # both look before either writes
    order = (alice, bob) if first == "alice" else (bob, alice)
    for repo in order:
        store = RemoteStore.open(repo)
        plan = sync_push.plan(repo, store, "churn", stale[repo]["churn"], None)
        store.push(plan.objects)
        sync_push.write_entries(store, plan)
    results = {r: sync.pull(r) for r in (alice, bob)}
    for repo in (alice, bob):
        assert aliases.get_aliases(repo, "churn")["production"] == 2  # alice moved first
        [conflict] = results[repo].conflicts
        assert conflict["to"] == 3 and conflict["lost_to"] is not None and "lost to" in conflict["message"]
    assert _state(alice) == _state(bob)
    assert [e["to"] for e in aliases.history(alice, "churn") if e.get("lost")] == [3]


def test_a_version_registered_in_both_clones_is_renumbered_not_lost(cli, clones, monkeypatch, model_files):
    alice, bob = clones
    _base(cli, alice, bob, monkeypatch, model_files)
    mine = versions.register(bob, "churn", model_files / "numpy.pkl")  # bob's churn:4
    aliases.set_alias(bob, "churn", "staging", 4)
    theirs = versions.register(alice, "churn", model_files / "good.joblib")  # alice's churn:4
    assert sync.push(alice).versions == ["churn:4"]
    _in(monkeypatch, bob)
    refused = cli("model", "push")
    assert refused.exit_code == 1 and "churn:4 on the remote is another version" in refused.stderr
    pulled = cli("model", "pull")
    assert pulled.exit_code == 0, pulled.stderr
    assert "renumbered churn:4 -> churn:5: the remote's churn:4 is another version" in pulled.stderr
    assert versions.get_version(bob, "churn:4").artifact_hash == theirs.artifact_hash
    assert versions.get_version(bob, "churn:5").artifact_hash == mine.artifact_hash
    assert aliases.get_aliases(bob, "churn")["staging"] == 5  # bob's move followed bob's version
    assert cli("model", "push").exit_code == 0
    sync.pull(alice)
    assert _state(alice) == _state(bob)
    assert cli("fsck", "--json").json()["ok"]


def test_a_deleted_version_stays_deleted_after_pull(cli, folder_clones, monkeypatch, model_files):
    alice, bob = folder_clones
    _base(cli, alice, bob, monkeypatch, model_files)
    versions.delete_version(bob, "churn:3")
    sync.pull(bob)
    assert [v.version for v in versions.list_versions(bob, "churn")] == [1, 2]


def _remote(tmp_path):
    return tmp_path / "shared-remote"


@pytest.mark.parametrize("entry, why", [
    ("models/bad name/versions/1-{h}", "invalid model name"),
    ("models/churn/versions/0-{h}", "is not a version number"),
    ("models/churn/versions/1-xyz", "is not an object hash"),
    ("models/churn/events/{h}", "not an event of model churn"),
    ("models/churn/versions/7-{h}", "the record is not churn:7"),
    ("models/churn/stuff/{h}", "unknown kind"),
    ("models/churn/deployments/../x/1-{h}", "not"),
])
def test_a_malformed_remote_entry_is_refused_by_name(cli, folder_clones, monkeypatch, model_files, tmp_path, entry, why):
    alice, bob = folder_clones
    _base(cli, alice, bob, monkeypatch, model_files)
    digest = versions.get_version(alice, "churn:1").record_hash  # a real object, but not what the name says
    path = entry.format(h=digest)
    if "/../" in path:
        path = "models/churn/deployments/x/notastamp-" + digest
    target = _remote(tmp_path) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(digest)
    before = _state(bob)
    _in(monkeypatch, bob)
    res = cli("model", "pull")
    assert res.exit_code == 3, res.stderr
    assert res.stderr.startswith("mlctl: error: remote origin: malformed registry entry " + path)
    assert "Traceback" not in res.stderr
    assert _state(bob) == before


def test_an_event_pointing_at_another_version_loses(folder_clones, monkeypatch, model_files, tmp_path):
    """A crafted event naming version 2 with another record's hash moves nothing."""
    from mlctl.registry import eventlog
    from mlctl.store.hashing import hash_bytes

    alice, bob = folder_clones
    _base(None, alice, bob, monkeypatch, model_files)
    head = aliases.history(alice, "churn")[-1]["id"]
    entry = {"time": "2099-01-01T00:00:00Z", "action": "promote", "alias": "production", "from": 1, "to": 2,
             "moved": True, "to_record": versions.get_version(alice, "churn:3").record_hash}
    data = eventlog.encode(eventlog.body("churn", head, entry))
    digest = hash_bytes(data)
    obj = _remote(tmp_path) / "objects" / digest[:2] / digest[2:]
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(data)
    (_remote(tmp_path) / event_entry("churn", digest)).write_text(digest)
    result = sync.pull(bob)
    assert aliases.get_aliases(bob, "churn")["production"] == 1
    assert [c["event"] for c in result.conflicts] == [digest]


# -- crash safety -------------------------------------------------------------------------------
def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _kill_at_random(repo, verb: str, rng: random.Random) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", "model", verb], cwd=repo.root, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.2, 0.9))  # python + mlctl start in ~0.3 s; the work follows
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _run(repo, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlctl", *args], cwd=repo.root, env=_env(),
                          capture_output=True, text=True, timeout=120)


def _fsck_ok(cli, monkeypatch, repo) -> bool:
    _in(monkeypatch, repo)
    return cli("fsck", "--json").json()["ok"]


def test_sigkill_during_push_and_pull_leaves_both_clones_sound(cli, folder_clones, monkeypatch, model_files):
    alice, bob = folder_clones
    rng = random.Random(17)
    for i, f in enumerate(["weak.pkl", "good.pkl", "reg.pkl", "numpy.pkl", "good_z.joblib"], 1):
        versions.register(alice, "churn", model_files / f)
        aliases.set_alias(alice, "churn", "production", i, action="promote")
    deployments.record_deployment(alice, "churn", 5, host="127.0.0.1", port=8080)
    for _ in range(10):
        _kill_at_random(alice, "push", rng)
        assert _fsck_ok(cli, monkeypatch, alice)
    assert _run(alice, "model", "push").returncode == 0
    for _ in range(10):
        _kill_at_random(bob, "pull", rng)
        assert _fsck_ok(cli, monkeypatch, bob)
    done = _run(bob, "model", "pull")
    assert done.returncode == 0, done.stderr
    assert _state(bob) == _state(alice)
    assert _run(bob, "model", "pull", "--json").stdout.count('"objects": 0') == 1
