"""`validate:` on a stage: suites checked on its deps before the command runs and on its
outs before they are stored; a failure fails the stage, names the report, and nothing
downstream runs."""

from __future__ import annotations

import json

from mlctl.pipeline import runcache

RAW_SUITE = """\
datasets:
  data/raw.csv:
    expectations:
      - {expect: not_null, column: x}
      - {expect: between, column: x, min: 0, max: 100, name: x in range}
"""
CLEAN_SUITE = """\
datasets:
  clean.csv:
    expectations:
      - {expect: row_count, min: 2}
      - {expect: unique, column: x}
"""


def gated(project, raw="x\n1\n2\n3\n", clean_cmd="cp data/raw.csv clean.csv"):
    project.write("data/raw.csv", raw)
    project.write("checks/raw.yaml", RAW_SUITE)
    project.write("checks/clean.yaml", CLEAN_SUITE)
    project.pipeline({
        "prepare": {"cmd": project.counted("prepare", clean_cmd), "deps": ["data/raw.csv"], "outs": ["clean.csv"],
                    "validate": {"deps": ["checks/raw.yaml"], "outs": ["checks/clean.yaml"]}},
        "train": {"cmd": project.counted("train", "cp clean.csv model.txt"), "deps": ["clean.csv"],
                  "outs": ["model.txt"]},
    })


def stages_of(res) -> dict:
    return {s["stage"]: s for s in res.json()["stages"]}


def test_data_that_passes_both_gates_runs_as_usual(cli, project):
    gated(project)
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0, res.stderr
    assert {n: s["outcome"] for n, s in stages_of(res).items()} == {"prepare": "ran", "train": "ran"}
    assert project.read("model.txt") == "x\n1\n2\n3\n"


def test_bad_deps_fail_the_stage_before_its_command_runs(cli, project):
    gated(project, raw="x\n1\n\n500\n")  # a null and a value out of range
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 1
    stages = stages_of(res)
    assert (stages["prepare"]["outcome"], stages["train"]["outcome"]) == ("failed", "skipped")
    error = stages["prepare"]["error"]
    assert error.startswith("data validation of its deps failed (checks/raw.yaml: data/raw.csv: ")
    assert "x in range" in error
    assert project.runs("prepare") == 0 and project.runs("train") == 0  # nothing ran
    report = json.loads((project.root / error.rsplit("report: ", 1)[1]).read_text())
    assert report["success"] is False and report["failed"] == 2  # the `data validate --json` document


def test_bad_outs_are_not_stored_cached_or_recorded(cli, project):
    gated(project, clean_cmd="head -2 data/raw.csv > clean.csv")  # one row: row_count fails
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 1
    stages = stages_of(res)
    assert (stages["prepare"]["outcome"], stages["train"]["outcome"]) == ("failed", "skipped")
    assert "data validation of its outs failed (checks/clean.yaml: clean.csv: " in stages["prepare"]["error"]
    assert project.runs("prepare") == 1 and project.runs("train") == 0
    assert not (project.root / "pipeline.lock").exists()
    assert list(runcache.iter_refs(project.repo)) == []


def test_a_failed_deps_gate_leaves_the_last_good_outputs(cli, project):
    gated(project)
    assert cli("pipeline", "run").exit_code == 0
    project.write("data/raw.csv", "x\n-5\n")
    assert cli("pipeline", "run").exit_code == 1
    assert project.read("clean.csv") == "x\n1\n2\n3\n"  # not removed before the gate


def test_a_changed_suite_reruns_the_stage(cli, project):
    gated(project)
    assert cli("pipeline", "run").exit_code == 0
    project.write("checks/raw.yaml", RAW_SUITE.replace("max: 100", "max: 2"))
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 1 and stages_of(res)["prepare"]["outcome"] == "failed"


def test_every_validation_is_recorded(cli, project):
    gated(project)
    assert cli("pipeline", "run").exit_code == 0
    status = cli("status", "--json").json()
    assert status["validation"]["success"] is True


def test_a_suite_that_covers_none_of_the_paths_fails_the_stage(cli, project):
    gated(project)
    project.write("checks/raw.yaml", RAW_SUITE.replace("data/raw.csv:", "data/other.csv:"))
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 1
    error = stages_of(res)["prepare"]["error"]
    assert "checks/raw.yaml: no dataset of the suite covers data/raw.csv" in error


def test_validate_shorthand_and_bad_values(cli, project):
    project.write("in.csv", "x\n1\n")
    project.write("s.yaml", "datasets:\n  in.csv:\n    expectations:\n      - {expect: not_null, column: x}\n")
    project.pipeline({"a": {"cmd": "cp in.csv out.csv", "deps": ["in.csv"], "outs": ["out.csv"], "validate": "s.yaml"}})
    show = cli("pipeline", "show", "--json").json()
    assert show["stages"][0]["validate"] == {"deps": ["s.yaml"], "outs": []}
    assert show["stages"][0]["deps"] == ["in.csv", "s.yaml"]  # the suite is a dep: a changed gate reruns
    assert cli("pipeline", "run").exit_code == 0
    project.pipeline({"a": {"cmd": "true", "validate": {"inputs": ["s.yaml"]}}})
    res = cli("pipeline", "status")
    assert res.exit_code == 2 and "pipeline.yaml: stages.a.validate.inputs: unknown key, expected one of deps, outs" in res.stderr
    project.pipeline({"a": {"cmd": "true", "validate": {"deps": [3.5, {"x": 1}]}}})
    res = cli("pipeline", "status")
    assert res.exit_code == 2 and "stages.a.validate.deps[1]: expected a non-empty string" in res.stderr


def test_each_suite_keeps_its_own_report(cli, project):
    gated(project)
    project.write("checks/also.yaml", RAW_SUITE.replace("x in range", "x still in range"))
    project.pipeline({"prepare": {"cmd": "cp data/raw.csv clean.csv", "deps": ["data/raw.csv"], "outs": ["clean.csv"],
                                  "validate": ["checks/raw.yaml", "checks/also.yaml"]}})
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0, res.stderr
    log_dir = project.root / res.json()["log_dir"]
    reports = sorted(p.name for p in log_dir.glob("prepare.validate-*.json"))
    assert reports == ["prepare.validate-deps-2.json", "prepare.validate-deps.json"]
    assert json.loads((log_dir / "prepare.validate-deps.json").read_text())["suite"] == "checks/raw.yaml"
    assert json.loads((log_dir / "prepare.validate-deps-2.json").read_text())["suite"] == "checks/also.yaml"
