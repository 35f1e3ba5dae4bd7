"""A run logged in another repository (a Ray worker's scratch one) and carried back."""

from __future__ import annotations

import json
import math

import pytest

from mlctl.errors import StoreDamageError
from mlctl.tracking import api as tracking_api
from mlctl.tracking.runs import get_run
from mlctl.tracking.writes import create_run, log_batch


@pytest.fixture
def backend() -> str:
    """SQLite only: the relay carries a run between two repositories' own SQLite indexes (a Ray worker's scratch one)."""
    return "sqlite"


def test_a_seed_for_another_run_or_an_existing_database_opens_nothing(make_repo, tmp_path, monkeypatch):
    from mlctl.errors import NotFoundError

    worker = make_repo("worker", use_git=False)
    seed = {"id": "01M92XGVP3FT82XVAZAJM83E16", "experiment": "e", "name": None, "steps": {}}
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    monkeypatch.setenv("MLCTL_RUN_SEED", str(seed_file))
    monkeypatch.setenv("MLCTL_RUN_ID", "01M92XGVP2WAJNSANDBP1K2KZB")  # not the seed's run
    with pytest.raises(NotFoundError, match="unknown run"):
        tracking_api.start_run(repo=worker)
    create_run(worker, experiment="e")  # a repository with runs of its own is no scratch one
    monkeypatch.setenv("MLCTL_RUN_ID", seed["id"])
    with pytest.raises(NotFoundError, match="unknown run"):
        tracking_api.start_run(repo=worker)


def _history(repo, run_id):
    from mlctl.tracking.db import database

    with database(repo).read() as conn:
        return conn.execute("SELECT key, step, value FROM points WHERE run_id = ? ORDER BY key, step",
                            (run_id,)).fetchall()


def test_what_a_worker_logs_lands_in_the_driver_run(make_repo, tmp_path, monkeypatch):
    driver, worker = make_repo("driver"), make_repo("worker", use_git=False)
    run = create_run(driver, experiment="sweep", name="fit@a", params={"item": "a"})
    log_batch(driver, run.id, [("loss", 4, 9.0, 1.0)])  # the run has steps already
    seed = tracking_api.relay_seed(driver, run.id)
    assert seed == {"id": run.id, "experiment": "sweep", "name": "fit@a", "steps": {"loss": 4}}

    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    monkeypatch.setenv("MLCTL_RUN_SEED", str(seed_file))
    monkeypatch.setenv("MLCTL_RUN_ID", run.id)
    assert tracking_api.relay_delta(worker, seed) is None  # nothing joined yet: no database at all
    joined = tracking_api.start_run(repo=worker)  # as a stage's script does: opened from the seed
    joined.log_metric("loss", 0.5)  # unnumbered: continues after the driver's step 4
    joined.log_metric("acc", math.nan, step=2)
    joined.log_params({"seed": 7})
    joined.set_tags({"phase": "a"})
    (tmp_path / "w.bin").write_bytes(b"weights")
    joined.log_artifact(tmp_path / "w.bin", name="model/w.bin")
    joined.end()
    delta = tracking_api.relay_delta(worker, seed)
    assert [p[:2] for p in delta["points"]] == [["loss", 5], ["acc", 2]]

    for digest in tracking_api.relay_objects(delta):  # what the remote carries
        driver.objects.put_bytes(worker.objects.get_bytes(digest))
    tracking_api.apply_relay(driver, run.id, delta)
    got = get_run(driver, run.id)
    assert got.params == {"item": "a", "seed": 7} and got.tags["phase"] == "a"
    history = _history(driver, run.id)
    assert history[0][:2] == ("acc", 2) and (history[0][2] is None or math.isnan(history[0][2]))
    assert [(k, s, v) for k, s, v in history if k == "loss"] == [("loss", 4, 9.0), ("loss", 5, 0.5)]
    restored = tracking_api.restore_artifacts(driver, got, tmp_path / "out")
    assert restored == [str(tmp_path / "out/model/w.bin")] and (tmp_path / "out/model/w.bin").read_bytes() == b"weights"



def test_a_driver_on_the_backend_relays_from_a_worker_whose_environment_names_it(make_repo, tmp_path, monkeypatch,
                                                                                  pg_backend_url):
    """On a cluster every node may have MLCTL_BACKEND_URL: the task still reads its scratch
    SQLite index (not the driver's run on the backend), the command runs without the
    variable, and the driver applies the delta to its run on the backend."""
    from mlctl.pipeline.ray_task import _open_run

    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    driver, worker = make_repo("driver"), make_repo("worker", use_git=False)
    run = create_run(driver, experiment="sweep", name="fit@a", params={"item": "a"})
    seed = tracking_api.relay_seed(driver, run.id)
    command_env = {"MLCTL_BACKEND_URL": pg_backend_url}
    _open_run(tmp_path, worker, seed, command_env)
    assert "MLCTL_BACKEND_URL" not in command_env and command_env["MLCTL_RUN_ID"] == run.id

    assert tracking_api.relay_delta(worker, seed) is None  # the backend's copy of the run is not the scratch one
    with monkeypatch.context() as command:  # the command's environment, as _open_run made it
        command.delenv("MLCTL_BACKEND_URL")
        for name, value in command_env.items():
            command.setenv(name, value)
        joined = tracking_api.start_run(repo=worker)
        joined.log_metric("loss", 0.5)
        joined.log_params({"seed": 7})
        joined.end()
    delta = tracking_api.relay_delta(worker, seed)
    assert delta["params"] == {"seed": 7} and [p[:2] for p in delta["points"]] == [["loss", 0]]

    tracking_api.apply_relay(driver, run.id, delta)
    got = get_run(driver, run.id)  # read from the backend
    assert got.params == {"item": "a", "seed": 7} and _history(driver, run.id) == [("loss", 0, 0.5)]

@pytest.mark.parametrize("delta", [
    {"points": [["../x", 0, 0.0, 1.0]]},
    {"points": [["k", "zero", 0.0, 1.0]]},
    {"points": [["k", 0, 0.0]]},
    {"points": "many"},
    {"params": ["x"]},
    {"artifacts": [["../../etc/passwd", "0" * 32, 1, 0o100644]]},
    {"artifacts": [[".git/config", "0" * 32, 1, 0o100644]]},
    {"artifacts": [["ok", "not-a-hash", 1, 0o100644]]},
    {"artifacts": [["m", "0" * 32, 1, 0o100644], ["m/x", "0" * 32, 1, 0o100644]]},
    {"params": {"bad key!": 1}},
    {"tags": {"../t": "x"}},
])
def test_a_crafted_delta_from_a_worker_is_refused_whole(repo, delta):
    run = create_run(repo, experiment="e", params={"p": 1})
    delta = {"points": [["ok", 0, 0.0, 1.0]], "params": {"q": 2}, **delta}  # good parts are not written either
    with pytest.raises(StoreDamageError):
        tracking_api.apply_relay(repo, run.id, delta)
    got = get_run(repo, run.id)
    assert got.params == {"p": 1} and got.metrics == {} and _history(repo, run.id) == []
