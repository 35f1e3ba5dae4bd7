"""`pipeline run`: what runs, what is skipped, what is restored from the run-cache."""

from __future__ import annotations

import json

import yaml


def run_ok(cli, *args):
    res = cli("pipeline", "run", "--json", *args)
    assert res.exit_code == 0, (res.stdout, res.stderr)
    return {s["stage"]: s for s in res.json()["stages"]}


def outcomes(stages: dict) -> dict:
    return {name: s["outcome"] for name, s in stages.items()}


def test_first_run_runs_everything_in_order_then_nothing(cli, chain):
    stages = run_ok(cli)
    assert list(stages) == ["prepare", "train", "evaluate", "report"]
    assert set(outcomes(stages).values()) == {"ran"}
    assert all(s["cache"] == "miss" for s in stages.values())
    assert chain.read("data/prepared/all.csv") == "x,y\n1,2\nx,y\n3,4\n"
    assert json.loads(chain.read("metrics.json"))["acc"] == 0.91
    lock = chain.lock()["stages"]
    assert list(lock) == ["prepare", "train", "evaluate", "report"]
    assert lock["train"]["params"] == {"train": {"C": 1.0, "seed": 7}}
    assert lock["prepare"]["outs"]["data/prepared"]["kind"] == "dir"
    stages = run_ok(cli)
    assert set(outcomes(stages).values()) == {"up-to-date"}
    assert [chain.runs(s) for s in ("prepare", "train", "evaluate", "report")] == [1, 1, 1, 1]


def test_changed_dep_reruns_only_downstream(cli, chain):
    run_ok(cli)
    chain.write("data/raw/c.csv", "x,y\n5,6\n")
    stages = run_ok(cli)
    assert outcomes(stages) == {"prepare": "ran", "train": "ran", "evaluate": "ran", "report": "up-to-date"}
    assert stages["prepare"]["reasons"][0]["text"] == "dep data/raw changed"
    assert chain.runs("report") == 1


def test_unchanged_outputs_stop_the_cascade(cli, chain):
    """prepare reruns for a file it ignores; its output is the same, so train does not run."""
    run_ok(cli)
    chain.write("data/raw/README.txt", "notes\n")
    stages = run_ok(cli)
    assert outcomes(stages) == {"prepare": "ran", "train": "up-to-date", "evaluate": "up-to-date",
                                "report": "up-to-date"}
    assert chain.runs("train") == 1


def test_param_change_runs_then_revert_restores_without_running(cli, chain):
    run_ok(cli)
    first_model = chain.read("model.pkl")
    chain.params({"prepare": {"split": 0.2}, "train": {"C": 2.0, "seed": 7}})
    stages = run_ok(cli)
    assert outcomes(stages) == {"prepare": "up-to-date", "train": "ran", "evaluate": "ran", "report": "up-to-date"}
    assert stages["train"]["reasons"][0]["text"] == "param train.C changed: 1.0 -> 2.0"
    assert chain.read("model.pkl") != first_model
    chain.params({"prepare": {"split": 0.2}, "train": {"C": 1.0, "seed": 7}})
    stages = run_ok(cli)
    assert outcomes(stages) == {"prepare": "up-to-date", "train": "restored", "evaluate": "restored",
                                "report": "up-to-date"}
    assert stages["train"]["cache"] == "hit"
    assert chain.read("model.pkl") == first_model
    assert (chain.runs("train"), chain.runs("evaluate")) == (2, 2)
    assert cli("pipeline", "status").exit_code == 0


def test_deleted_outputs_are_restored_from_the_store(cli, chain):
    run_ok(cli)
    (chain.root / "model.pkl").unlink()
    stages = run_ok(cli)
    assert outcomes(stages)["train"] == "restored"
    assert stages["train"]["reasons"][0]["text"] == "output model.pkl is missing"
    assert chain.runs("train") == 1 and (chain.root / "model.pkl").exists()


def test_modified_output_is_put_back(cli, chain):
    run_ok(cli)
    good = chain.read("eval.txt")
    chain.write("eval.txt", "hand edited\n")
    stages = run_ok(cli)
    assert outcomes(stages)["evaluate"] == "restored"
    assert stages["evaluate"]["reasons"][0]["text"] == "output eval.txt was modified"
    assert chain.read("eval.txt") == good


def test_command_change_reruns(cli, chain):
    run_ok(cli)
    data = yaml.safe_load(chain.read("pipeline.yaml"))
    data["stages"]["report"]["cmd"] = chain.counted("report", "echo report v2 > report.txt")
    chain.write("pipeline.yaml", yaml.safe_dump(data, sort_keys=False))
    stages = run_ok(cli)
    assert outcomes(stages)["report"] == "ran"
    assert stages["report"]["reasons"][0]["kind"] == "cmd"
    assert chain.read("report.txt") == "report v2\n"


def test_force_runs_everything_again(cli, chain):
    run_ok(cli)
    stages = run_ok(cli, "--force")
    assert set(outcomes(stages).values()) == {"ran"}
    assert stages["train"]["reasons"][0]["kind"] == "forced"
    assert chain.runs("train") == 2


def test_targets_run_with_what_they_need_only(cli, chain):
    stages = run_ok(cli, "train")
    assert list(stages) == ["prepare", "train"]
    assert chain.runs("evaluate") == 0 and chain.runs("report") == 0
    stages = run_ok(cli, "report", "train")
    assert outcomes(stages) == {"prepare": "up-to-date", "train": "up-to-date", "report": "ran"}


def test_always_changed_stage_runs_every_time(cli, project):
    project.pipeline({"ping": {"cmd": project.counted("ping", "date > ping.txt"), "outs": ["ping.txt"],
                               "always_changed": True}})
    run_ok(cli)
    stages = run_ok(cli)
    assert outcomes(stages) == {"ping": "ran"} and project.runs("ping") == 2


def test_stage_without_outputs_runs_once_per_input_change(cli, project):
    project.write("src.txt", "1")
    project.pipeline({"check": {"cmd": project.counted("check", "test -s src.txt"), "deps": ["src.txt"]}})
    run_ok(cli)
    run_ok(cli)
    assert project.runs("check") == 1
    project.write("src.txt", "2")
    run_ok(cli)
    assert project.runs("check") == 2


def test_list_command_and_output_parents_are_created(cli, project):
    project.pipeline({"multi": {"cmd": ["echo one > deep/dir/out.txt", "echo two >> deep/dir/out.txt"],
                                "outs": ["deep/dir/out.txt"]}})
    run_ok(cli)
    assert project.read("deep/dir/out.txt") == "one\ntwo\n"
    assert project.lock()["stages"]["multi"]["cmd"] == "echo one > deep/dir/out.txt && echo two >> deep/dir/out.txt"


def test_stale_outputs_are_removed_before_a_stage_runs(cli, project):
    """A folder output is rebuilt from scratch, so files the new run does not write are gone."""
    project.write("n.txt", "2")
    cmd = "mkdir -p out && for i in $(seq $(cat n.txt)); do echo $i > out/$i.txt; done"
    project.pipeline({"gen": {"cmd": cmd, "deps": ["n.txt"], "outs": ["out"]}})
    run_ok(cli)
    assert sorted(p.name for p in (project.root / "out").iterdir()) == ["1.txt", "2.txt"]
    project.write("n.txt", "1")
    run_ok(cli)
    assert sorted(p.name for p in (project.root / "out").iterdir()) == ["1.txt"]


def test_lock_file_is_stable_when_nothing_changes(cli, chain):
    run_ok(cli)
    before = (chain.root / "pipeline.lock").read_bytes()
    mtime = (chain.root / "pipeline.lock").stat().st_mtime_ns
    run_ok(cli)
    assert (chain.root / "pipeline.lock").read_bytes() == before
    assert (chain.root / "pipeline.lock").stat().st_mtime_ns == mtime


def test_human_output_when_piped(cli, chain):
    res = cli("pipeline", "run")
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].split() == ["stage", "outcome", "cache", "seconds", "why"]
    assert "prepare: running (no record of a run in pipeline.lock)" in res.stderr
    assert "pipeline done in" in res.stderr
    res = cli("-q", "pipeline", "run")
    assert res.exit_code == 0 and res.stderr == ""


def test_verbose_streams_stage_output(cli, project):
    project.pipeline({"talk": {"cmd": "echo hello; echo world >&2; echo x > t.txt", "outs": ["t.txt"]}})
    res = cli("pipeline", "run", "-v")
    assert "[talk] hello" in res.stderr and "[talk] world" in res.stderr


def test_run_cache_is_trimmed_to_its_configured_size(cli, project):
    project.write("v.txt", "0")
    project.pipeline({"s": {"cmd": "cp v.txt o.txt", "deps": ["v.txt"], "outs": ["o.txt"]}})
    assert cli("config", "set", "pipeline.runcache_size", "2").exit_code == 0
    for i in range(4):
        project.write("v.txt", str(i))
        run_ok(cli)
    assert len(list(project.repo.refs.list("pipeline/runcache"))) == 2
    project.write("v.txt", "0")  # trimmed away: runs again
    assert outcomes(run_ok(cli)) == {"s": "ran"}
    project.write("v.txt", "3")  # still cached
    assert outcomes(run_ok(cli)) == {"s": "restored"}
