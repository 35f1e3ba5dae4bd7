"""A failing stage: dependents skipped, independent branches finish, nothing cached, exit 1,
and the failing command with its log tail on stderr."""

from __future__ import annotations

from mlctl.pipeline import runcache


def failing(project, fail_cmd="echo starting; echo 'ValueError: bad C' >&2; exit 3"):
    project.write("in.txt", "in\n")
    project.pipeline({
        "prepare": {"cmd": "cp in.txt prep.txt", "deps": ["in.txt"], "outs": ["prep.txt"]},
        "train": {"cmd": f"echo partial > model.pkl; {fail_cmd}", "deps": ["prep.txt"], "outs": ["model.pkl"]},
        "evaluate": {"cmd": "cp model.pkl eval.txt", "deps": ["model.pkl"], "outs": ["eval.txt"]},
        "side": {"cmd": "sleep 0.3; echo side > side.txt", "outs": ["side.txt"]},
    })


def test_failure_skips_dependents_and_finishes_independent_branches(cli, project):
    failing(project)
    res = cli("pipeline", "run", "-j", "2", "--json")
    assert res.exit_code == 1
    stages = {s["stage"]: s for s in res.json()["stages"]}
    assert {n: s["outcome"] for n, s in stages.items()} == {
        "prepare": "ran", "train": "failed", "evaluate": "skipped", "side": "ran"}
    assert stages["train"]["exit_code"] == 3 and stages["train"]["error"] == "exit code 3"
    assert stages["evaluate"]["error"] == "upstream train failed"
    assert stages["train"]["log_tail"][-1] == "ValueError: bad C"
    assert res.json()["ok"] is False
    assert (project.root / "side.txt").read_text() == "side\n"


def test_partial_outputs_are_not_cached_or_recorded(cli, project):
    failing(project)
    assert cli("pipeline", "run").exit_code == 1
    lock = project.lock()["stages"]
    assert "train" not in lock and "prepare" in lock
    stages = {e.stage for _fp, digest in runcache.iter_refs(project.repo)
              for e in [runcache.load_entry(project.repo, digest)]}
    assert stages == {"prepare", "side"}
    assert (project.root / "model.pkl").read_text() == "partial\n"  # left for inspection
    status = cli("pipeline", "status", "--json")
    assert status.exit_code == 1
    train = [s for s in status.json()["stages"] if s["stage"] == "train"][0]
    assert train["action"] == "run"


def test_failure_message_names_the_command_and_shows_the_log_tail(cli, project):
    failing(project)
    res = cli("pipeline", "run")
    assert res.exit_code == 1
    err = res.stderr
    assert "mlctl: stage train failed (exit code 3): echo partial > model.pkl; echo starting;" in err
    assert "  | starting" in err and "  | ValueError: bad C" in err
    assert "full log: .mlctl/logs/pipeline/" in err and "train.log" in err
    assert "pipeline failed in" in err
    log = cli("pipeline", "log", "train")
    assert log.exit_code == 0
    assert log.stdout.splitlines()[0].startswith("$ echo partial")
    assert "ValueError: bad C" in log.stdout and "[exit code 3]" in log.stdout
    tail = cli("pipeline", "log", "train", "--tail", "1", "--json").json()
    assert tail["lines"] == ["[exit code 3]"] and tail["path"].endswith("train.log")


def test_failure_is_shown_even_when_quiet(cli, project):
    failing(project)
    res = cli("-q", "pipeline", "run")
    assert res.exit_code == 1 and "stage train failed" in res.stderr


def test_fixing_the_stage_reruns_it_and_its_dependents(cli, project):
    failing(project)
    cli("pipeline", "run")
    failing(project, fail_cmd="true")
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0
    stages = {s["stage"]: s["outcome"] for s in res.json()["stages"]}
    assert stages == {"prepare": "up-to-date", "train": "ran", "evaluate": "ran", "side": "up-to-date"}


def test_a_command_that_does_not_write_its_output_fails(cli, project):
    project.pipeline({"lazy": {"cmd": "true", "outs": ["never.txt"]}})
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 1
    stage = res.json()["stages"][0]
    assert stage["outcome"] == "failed"
    assert stage["error"] == "the command succeeded but did not write never.txt"
    assert not list(project.repo.refs.list("pipeline/runcache"))


def test_log_of_a_stage_that_never_ran(cli, project):
    project.pipeline({"a": {"cmd": "true"}})
    res = cli("pipeline", "log", "a")
    assert res.exit_code == 2 and "no log for stage a" in res.stderr


def test_a_missing_cached_object_falls_back_to_running(cli, project):
    """The run-cache names outputs whose objects are gone (gc'd, never pulled): run instead."""
    project.write("v.txt", "1")
    project.pipeline({"s": {"cmd": "cp v.txt o.txt", "deps": ["v.txt"], "outs": ["o.txt"]}})
    cli("pipeline", "run")
    project.write("v.txt", "2")
    cli("pipeline", "run")
    for digest in list(project.repo.objects.iter_hashes()):
        if project.repo.objects.get_bytes(digest, verify=False) == b"1":
            project.repo.objects.remove(digest)
    project.write("v.txt", "1")
    res = cli("pipeline", "run", "--json")
    assert res.json()["stages"][0]["outcome"] == "ran"
