"""pipeline.yaml and params.yaml errors: exit 2, one line naming the stage and the key."""

from __future__ import annotations

import pytest

from tests.pipeline.conftest import Project


def one_error_line(res) -> str:
    lines = [l for l in res.stderr.splitlines() if l.startswith("mlctl: error:")]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def check_error(cli, *needles, command=("pipeline", "run")):
    res = cli(*command)
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    line = one_error_line(res)
    for needle in needles:
        assert needle in line, line
    return res


def base(project: Project, **changes) -> dict:
    project.write("in.txt", "in\n")
    stages = {
        "a": {"cmd": "cp in.txt a.txt", "deps": ["in.txt"], "outs": ["a.txt"]},
        "b": {"cmd": "cp a.txt b.txt", "deps": ["a.txt"], "outs": ["b.txt"]},
    }
    for name, body in changes.items():
        stages[name] = body
    return stages


def test_missing_pipeline_file(cli, repo):
    res = check_error(cli, "pipeline.yaml: no such file")
    assert "hint:" in res.stderr


@pytest.mark.parametrize("text, needle", [
    ("stages: [a\n", "not valid YAML at line"),
    ("- a\n- b\n", "pipeline.yaml: expected a map with a `stages:` key, got ['a', 'b']"),
    ("stages: {}\n", "pipeline.yaml: stages: expected a map of stage name -> stage, got {}"),
    ("stage: {}\n", "pipeline.yaml: stage: unknown key, expected one of params, stages"),
    ("stages:\n  a: {cmd: echo, outz: [x]}\n", "pipeline.yaml: stages.a.outz: unknown key, expected one of cmd, deps"),
    ("stages:\n  a: {deps: [x]}\n", "stages.a.cmd: expected the shell command the stage runs: a non-empty string or a list of "
        "strings, got nothing"),
    ("stages:\n  a: {cmd: ''}\n", "stages.a.cmd: expected the shell command the stage runs: a non-empty string or a list of "
        "strings, got ''"),
    ("stages:\n  'a b': {cmd: echo}\n", "stages.a b: invalid stage name"),
    ("stages:\n  a: {cmd: echo, deps: {x: 1}}\n", "stages.a.deps: expected a list of strings, got {'x': 1}"),
    ("stages:\n  a: {cmd: echo, outs: [/etc/passwd]}\n", "stages.a.outs: /etc/passwd is absolute"),
    ("stages:\n  a: {cmd: echo, outs: [../x]}\n", "stages.a.outs: ../x is outside the repository"),
    ("stages:\n  a: {cmd: echo, outs: [.mlctl/objects]}\n", "inside .mlctl/"),
    ("stages:\n  a: {cmd: echo, outs: [x, ./x]}\n", "stages.a.outs: x is listed twice"),
    ("stages:\n  a: {cmd: echo, always_changed: maybe}\n", "stages.a.always_changed: expected true or false, got 'maybe'"),
    ("stages:\n  a: {cmd: echo, params: ['.x']}\n", "stages.a.params: invalid key"),
])
def test_shape_errors(cli, repo, text, needle):
    (repo.root / "pipeline.yaml").write_text(text)
    check_error(cli, needle)


def test_unknown_after_stage_is_named_with_a_suggestion(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "after": ["bb"]}))
    res = check_error(cli, "stages.c.after: unknown stage 'bb'")
    assert "did you mean 'b'?" in res.stderr


def test_dependency_nobody_writes(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "deps": ["data/missing.csv"]}))
    res = check_error(cli, "stages.c.deps: data/missing.csv does not exist and no stage writes it")
    assert "hint:" in res.stderr


def test_dependency_that_is_unpulled_tracked_data_gets_a_pull_hint(cli, project):
    project.write("data/raw.mlctl", "path: data/raw\n")
    project.pipeline(base(project, c={"cmd": "echo", "deps": ["data/raw"]}))
    res = check_error(cli, "stages.c.deps: data/raw does not exist")
    assert "`mlctl data pull data/raw`" in res.stderr  # pull checks out too now


def test_cycle_is_named_in_full(cli, project):
    project.pipeline({
        "a": {"cmd": "echo", "deps": ["c.txt"], "outs": ["a.txt"]},
        "b": {"cmd": "echo", "deps": ["a.txt"], "outs": ["b.txt"]},
        "c": {"cmd": "echo", "deps": ["b.txt"], "outs": ["c.txt"]},
        "d": {"cmd": "echo", "deps": ["c.txt"], "outs": ["d.txt"]},
    })
    line = one_error_line(cli("pipeline", "show"))
    assert "stages form a cycle:" in line
    cycle = line.split("cycle: ", 1)[1].split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]


def test_cycle_through_after(cli, project):
    project.pipeline({"a": {"cmd": "echo", "after": ["b"]}, "b": {"cmd": "echo", "after": ["a"]}})
    check_error(cli, "cycle: ", command=("pipeline", "status"))


def test_two_stages_writing_the_same_output(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "outs": ["b.txt"]}))
    check_error(cli, "stages b and c both write b.txt")


def test_an_output_inside_another_stages_output_folder(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "outs": ["out"]}, d={"cmd": "echo", "metrics": ["out/m.json"]}))
    check_error(cli, "stages c and d both write out")


def test_an_output_that_is_also_the_stages_own_input(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "deps": ["in.txt", "data"], "outs": ["data/clean"]}))
    check_error(cli, "stages.c.outs: data/clean is also an input of the same stage (deps: data)")


def test_an_output_that_is_the_params_file_an_undeclared_input(cli, project):
    project.params({"x": 1})
    project.pipeline(base(project, c={"cmd": "echo", "params": ["x"], "outs": ["params.yaml"]}))
    check_error(cli, "stages.c.outs: params.yaml would overwrite params.yaml")


def test_output_may_not_be_pipeline_yaml_or_lock(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "outs": ["pipeline.lock"]}))
    check_error(cli, "stages.c.outs: pipeline.lock would overwrite")


def test_missing_params_key_is_named(cli, project):
    project.params({"train": {"C": 1}})
    project.pipeline(base(project, c={"cmd": "echo", "params": ["train.C", "train.gamma"]}))
    res = check_error(cli, "stages.c.params: train.gamma is not in params.yaml")
    assert "did you mean train.C?" in res.stderr


def test_missing_params_file(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "params": ["train.C"]}))
    check_error(cli, "stages.c.params: params.yaml does not exist")


def test_custom_params_file_and_malformed_params(cli, project):
    project.write("conf/p.yaml", "a: [1\n")
    project.pipeline(base(project, c={"cmd": "echo", "params": ["a"]}), params="conf/p.yaml")
    check_error(cli, "conf/p.yaml: not valid YAML at line")
    project.write("conf/p.yaml", "- 1\n")
    check_error(cli, "conf/p.yaml: expected a map of parameters")


def test_unknown_target_stage(cli, project):
    project.pipeline(base(project))
    res = check_error(cli, "no stage named 'zz'", command=("pipeline", "run", "zz"))
    assert "stages: a, b" in res.stderr


def test_errors_leave_nothing_behind(cli, project):
    project.pipeline(base(project, c={"cmd": "echo", "outs": ["b.txt"]}))
    assert cli("pipeline", "run").exit_code == 2
    assert not (project.root / "pipeline.lock").exists()
    assert not (project.root / "a.txt").exists()
    assert not list((project.repo.dot / "refs").rglob("*"))


def test_damaged_lock_file_is_exit_2(cli, project):
    project.pipeline(base(project))
    project.write("pipeline.lock", "stages:\n  a: {fingerprint: nothex, cmd: x}\n")
    res = check_error(cli, "pipeline.lock is damaged")
    assert "git checkout pipeline.lock" in res.stderr
