"""Where each stage last ran (refs/pipeline/where): shown by `pipeline show/status --json`
and `mlctl status`, never part of pipeline.lock or any fingerprint."""

from __future__ import annotations

import socket

from mlctl.pipeline import where


def _last_ran(res) -> dict:
    return {s["stage"]: s["last_ran"] for s in res.json()["stages"]}


def test_show_status_and_mlctl_status_say_where_each_stage_ran(cli, chain, tmp_path):
    before = cli("pipeline", "show", "--json").json()
    assert {s["name"]: s["last_ran"] for s in before["stages"]} == dict.fromkeys(before["order"])
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0, res.stderr
    run_id = res.json()["run_id"]
    shown = {s["name"]: s["last_ran"] for s in cli("pipeline", "show", "--json").json()["stages"]}
    assert set(shown) == {"prepare", "train", "evaluate", "report"}
    for entry in shown.values():
        assert entry["executor"] == "local" and entry["node"] == socket.gethostname()
        assert (entry["attempts"], entry["outcome"], entry["run_id"]) == (1, "ran", run_id)
        assert entry["finished"].endswith("Z")
    assert _last_ran(cli("pipeline", "status", "--json")) == shown
    status = cli("status", "--json").json()["pipeline"]
    assert status["last_ran"] == shown
    human = cli("status").stdout
    assert f"ran on local, {socket.gethostname()}: prepare, train, evaluate +1" in human


def test_the_lock_and_fingerprints_do_not_depend_on_where_a_stage_ran(cli, chain):
    assert cli("pipeline", "run").exit_code == 0
    lock = (chain.root / "pipeline.lock").read_bytes()
    assert b"executor" not in lock and socket.gethostname().encode() not in lock
    # another machine ran it: the lock, the plan and the fingerprints stay the same
    chain.repo.refs.write(where.REF, '{"kind": "mlctl.pipeline.where", "version": 1, "stages": '
                                     '{"train": {"executor": "ray", "node": "10.0.0.9 (abc)"}}}\n')
    res = cli("pipeline", "status", "--json")
    assert res.exit_code == 0 and _last_ran(res)["train"]["executor"] == "ray"
    assert cli("pipeline", "run").exit_code == 0
    assert (chain.root / "pipeline.lock").read_bytes() == lock
    assert chain.runs("train") == 1


def test_a_restored_stage_keeps_where_its_command_last_ran(cli, chain):
    assert cli("pipeline", "run").exit_code == 0
    first = where.read(chain.repo)["train"]
    (chain.root / "model.pkl").unlink()  # stale, restorable from the run-cache
    res = cli("pipeline", "run", "train", "--json")
    assert {s["stage"]: s["outcome"] for s in res.json()["stages"]}["train"] == "restored"
    assert where.read(chain.repo)["train"] == first


def test_failed_and_retried_stages_are_recorded_with_their_attempts(cli, project):
    project.pipeline({"bad": {"cmd": "exit 3", "retries": 1}})
    assert cli("pipeline", "run").exit_code == 1
    entry = where.read(project.repo)["bad"]
    assert (entry["executor"], entry["attempts"], entry["outcome"]) == ("local", 2, "failed")


def test_a_damaged_record_reads_as_none_and_is_replaced(cli, chain):
    chain.repo.refs.write(where.REF, "{not json")
    res = cli("pipeline", "show", "--json")
    assert res.exit_code == 0 and all(s["last_ran"] is None for s in res.json()["stages"])
    assert cli("status", "--json").exit_code == 0
    assert cli("pipeline", "run").exit_code == 0
    assert where.read(chain.repo)["report"]["executor"] == "local"
