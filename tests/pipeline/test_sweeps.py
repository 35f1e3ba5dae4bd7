"""Sweeps: `foreach:` and `matrix:` stages expanded into instances that run, cache, lock and
record (as child runs) one by one."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.pipeline.spec import parse
from tests.conftest import one_error

# train: one instance per (lr, depth), each writing a model and a metrics file;
# select: reads every instance's metrics (a dep on the folder) and keeps the best.
TRAIN_PY = ("import json, sys; lr, depth = float(sys.argv[1]), int(sys.argv[2]); "
            "open(sys.argv[3], 'w').write('model'); "
            "json.dump({'acc': round(1 - abs(lr - 0.05) - depth / 100, 4)}, open(sys.argv[4], 'w'))")
SELECT_PY = ("import glob, json; scores = {p: json.load(open(p))['acc'] for p in sorted(glob.glob('metrics/*.json'))}; "
             "best = max(scores, key=scores.get); json.dump({'best_acc': scores[best], 'of': len(scores)}, open('best.json', 'w')); "
             "open('best.txt', 'w').write(best)")


def sweep_project(project, lrs=(0.1, 0.01), depths=(2, 4)):
    project.write("train.py", TRAIN_PY.replace("; ", "\n"))
    project.write("select.py", SELECT_PY.replace("; ", "\n"))
    name = "lr${item.lr}-d${item.depth}"
    project.pipeline({
        "train": {"matrix": {"lr": list(lrs), "depth": list(depths)},
                  "cmd": project.counted("train-${item.lr}-${item.depth}",
                                         f"mkdir -p models metrics && python train.py ${{item.lr}} ${{item.depth}} "
                                         f"models/{name}.pkl metrics/{name}.json"),
                  "deps": ["train.py"], "outs": [f"models/{name}.pkl"], "metrics": [f"metrics/{name}.json"]},
        "select": {"cmd": project.counted("select", "python select.py"), "deps": ["select.py", "metrics"],
                   "outs": ["best.txt"], "metrics": ["best.json"]},
    })


def run_json(cli, *args, code=0):
    res = cli("pipeline", "run", "--json", *args)
    assert res.exit_code == code, (res.stdout, res.stderr)
    return res.json()


def outcomes(doc) -> dict:
    return {s["stage"]: s["outcome"] for s in doc["stages"]}


# -- expansion ------------------------------------------------------------------------------
def names_of(stages: dict) -> list[str]:
    return list(parse({"stages": stages}, Path(".")).stages)


scalars = st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True),
                       st.lists(scalars, min_size=1, max_size=4, unique_by=lambda v: str(v) if not isinstance(v, bool) else str(v).lower()),
                       min_size=1, max_size=3))
def test_matrix_expands_to_the_product_with_unique_path_safe_names(matrix):
    names = names_of({"train": {"matrix": matrix, "cmd": "echo ${item.%s}" % next(iter(matrix))}})
    assert len(names) == math.prod(len(v) for v in matrix.values())
    assert len(set(names)) == len(names)
    for name in names:
        assert name.startswith("train@") and len(name) <= 110
        assert re.fullmatch(r"[A-Za-z0-9_.+,=%~@-]+", name), name


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=6, unique=True))
def test_foreach_names_are_one_to_one_with_the_values(values):
    names = names_of({"clean": {"foreach": values, "do": {"cmd": "echo '${item}'"}}})
    assert len(set(names)) == len(values)
    assert all("/" not in n and "\x00" not in n for n in names)


def test_names_and_templating_like_dvc(repo):
    pipeline = parse({"stages": {
        "a": {"foreach": ["raw", "labels"], "do": {"cmd": "clean ${item}", "outs": ["${item}.cln"]}},
        "b": {"foreach": [{"x": 1, "y": "p"}, {"x": 2, "y": "q"}], "cmd": "run ${item.x}", "outs": ["out/${item.y}"]},
        "c": {"foreach": {"uk": {"epochs": 3}, "us": {"epochs": 10}},
              "do": {"cmd": "train '${key}' ${item.epochs} \\${HOME}", "params": ["train.${key}"], "outs": ["m-${key}"]}},
        "d": {"matrix": {"lr": [0.1, 1e-3], "opt": ["adam", "sgd"]}, "cmd": "fit ${item.lr} ${ item.opt }",
              "metrics": ["m/${item.opt}-${item.lr}.json"], "desc": "lr ${item.lr}"},
    }}, repo.root)
    assert pipeline.groups["a"] == ("a@raw", "a@labels")
    assert pipeline.groups["b"] == ("b@0", "b@1")
    assert pipeline.groups["c"] == ("c@uk", "c@us")
    assert pipeline.groups["d"] == ("d@lr=0.1,opt=adam", "d@lr=0.1,opt=sgd", "d@lr=0.001,opt=adam", "d@lr=0.001,opt=sgd")
    assert pipeline.stages["a@labels"].outs == ("labels.cln",)
    assert pipeline.stages["b@1"].cmd == "run 2" and pipeline.stages["b@1"].item == {"x": 2, "y": "q"}
    us = pipeline.stages["c@us"]
    assert (us.cmd, us.params, us.outs) == ("train 'us' 10 ${HOME}", ("train.us",), ("m-us",))
    assert us.item == {"key": "us", "epochs": 10} and us.group == "c"
    d = pipeline.stages["d@lr=0.1,opt=sgd"]
    assert (d.cmd, d.metrics, d.desc) == ("fit 0.1 sgd", ("m/sgd-0.1.json",), "lr 0.1")
    assert d.item == {"lr": 0.1, "opt": "sgd"}


@pytest.mark.parametrize("stages, needles", [
    ({"t": {"foreach": [1, 2], "cmd": "echo ${nope}"}}, ["stages.t@1.cmd", "${nope}"]),
    ({"t": {"foreach": [{"a": 1}], "cmd": "echo ${item.b}"}}, ["stages.t@0.cmd", "${item.b}"]),
    ({"t": {"foreach": [{"a": 1}], "cmd": "echo ${item}"}}, ["stages.t@0.cmd", "not a single value"]),
    ({"t": {"foreach": {"k": 1}, "cmd": "echo x", "outs": ["${item.x}"]}}, ["stages.t@k.outs[0]", "${item.x}"]),
    ({"t": {"matrix": {"a": [1]}, "cmd": "echo ${key}"}}, ["stages.t@a=1.cmd", "${key}"]),
    ({"t": {"foreach": [1], "matrix": {"a": [1]}, "cmd": "x"}}, ["stages.t", "not both"]),
    ({"t": {"matrix": {}, "cmd": "x"}}, ["stages.t.matrix", "non-empty"]),
    ({"t": {"matrix": {"a": []}, "cmd": "x"}}, ["stages.t.matrix.a", "non-empty list"]),
    ({"t": {"matrix": {"a-b": [1]}, "cmd": "x"}}, ["stages.t.matrix", "invalid name"]),
    ({"t": {"foreach": [], "cmd": "x"}}, ["stages.t.foreach"]),
    ({"t": {"foreach": "${grid}", "cmd": "x"}}, ["stages.t.foreach"]),
    ({"t": {"foreach": [1, "1"], "cmd": "x"}}, ["stages.t", "same instance name t@1"]),
    ({"t": {"foreach": [1], "do": {"cmd": "x"}, "outs": ["o"]}}, ["stages.t", "inside it"]),
    ({"t": {"matrix": {"a": [1]}, "do": {"cmd": "x"}}}, ["stages.t.do", "foreach"]),
    ({"t": {"foreach": ["a", "b"], "cmd": "x", "outs": ["same.txt"]}}, ["stages t@a and t@b both write same.txt"]),
    ({"t": {"foreach": ["a"], "cmd": "x", "outs": ["../${item}"]}}, ["stages.t@a.outs", "outside the repository"]),
    ({"s": {"cmd": "x", "after": ["trian"]}, "train": {"foreach": [1], "cmd": "x"}}, ["stages.s.after", "unknown stage 'trian'"]),
    ({"t@x": {"cmd": "x"}}, ["stages.t@x", "invalid stage name"]),
])
def test_bad_sweeps_are_one_line_exit_2(cli, project, stages, needles):
    project.pipeline(stages)
    one_error(cli("pipeline", "show"), 2, "pipeline.yaml", *needles)


# -- running --------------------------------------------------------------------------------
def test_the_select_example_end_to_end_and_targets(cli, project):
    sweep_project(project)
    show = cli("pipeline", "show", "--json").json()
    assert show["sweeps"]["train"] == ["train@lr=0.1,depth=2", "train@lr=0.1,depth=4",
                                       "train@lr=0.01,depth=2", "train@lr=0.01,depth=4"]
    by_name = {s["name"]: s for s in show["stages"]}
    assert by_name["train@lr=0.01,depth=4"]["item"] == {"lr": 0.01, "depth": 4}
    assert by_name["select"]["upstream"] == show["sweeps"]["train"] and by_name["select"]["group"] is None
    doc = run_json(cli, "-j", "2")
    assert set(outcomes(doc).values()) == {"ran"} and list(outcomes(doc))[-1] == "select"
    assert project.read("best.txt") == "metrics/lr0.01-d2.json"
    assert json.loads(project.read("best.json")) == {"best_acc": 0.94, "of": 4}
    lock = project.lock()["stages"]
    assert list(lock) == [*show["sweeps"]["train"], "select"]
    assert lock["train@lr=0.1,depth=4"]["outs"]["models/lr0.1-d4.pkl"]["kind"] == "file"
    status = cli("pipeline", "status", "--json")
    assert status.exit_code == 0 and len(status.json()["stages"]) == 5

    one = run_json(cli, "--force", "train@lr=0.1,depth=2")  # one instance and what it needs
    assert outcomes(one) == {"train@lr=0.1,depth=2": "ran"}
    whole = run_json(cli, "--force", "train")  # a sweep stage's name: every instance
    assert list(outcomes(whole)) == show["sweeps"]["train"]
    assert project.runs("select") == 1
    res = cli("pipeline", "log", "train@lr=0.01,depth=4")
    assert res.exit_code == 0 and "train.py" in res.stdout


def test_changing_one_item_reruns_only_that_instance_and_the_cache_brings_it_back(cli, project):
    sweep_project(project, lrs=(0.1, 0.01), depths=(2,))
    run_json(cli)
    sweep_project(project, lrs=(0.1, 0.02), depths=(2,))
    doc = run_json(cli)
    assert outcomes(doc) == {"train@lr=0.1,depth=2": "up-to-date", "train@lr=0.02,depth=2": "ran", "select": "ran"}
    assert project.runs("train-0.1-2") == 1 and project.runs("train-0.02-2") == 1
    sweep_project(project, lrs=(0.1, 0.01), depths=(2,))
    (project.root / "metrics/lr0.02-d2.json").unlink()  # a dropped instance's outputs stay, as a removed stage's do
    doc = run_json(cli)
    assert outcomes(doc)["train@lr=0.01,depth=2"] == "restored"  # its own run-cache entry
    assert outcomes(doc)["select"] == "restored"  # the folder is as in the first run
    assert project.runs("train-0.01-2") == 1


def test_a_failing_instance_skips_only_its_dependents(cli, project):
    project.pipeline({
        "make": {"foreach": ["a", "b", "c"], "cmd": "test ${item} != b && mkdir -p out && echo ${item} > out/${item}",
                 "outs": ["out/${item}"]},
        "use": {"foreach": ["a", "b"], "cmd": "cat out/${item} > used-${item}", "deps": ["out/${item}"],
                "outs": ["used-${item}"]},
        "all": {"cmd": "echo done > all.txt", "after": ["make"], "outs": ["all.txt"]},
    })
    doc = run_json(cli, code=1)
    assert outcomes(doc) == {"make@a": "ran", "make@b": "failed", "make@c": "ran", "use@a": "ran",
                             "use@b": "skipped", "all": "skipped"}
    assert project.read("used-a") == "a\n"


def test_instances_run_in_parallel_with_j2(cli, project):
    # each instance waits (up to 10 s) for the other to have started: only true parallelism passes
    wait = "touch started-${item}; for i in $(seq 200); do [ -f started-${item.other} ] && break; sleep 0.05; done; "
    project.pipeline({"w": {"foreach": [{"me": "a", "other": "b"}, {"me": "b", "other": "a"}],
                            "cmd": wait.replace("${item}", "${item.me}") + "test -f started-${item.other} && echo ok > done-${item.me}",
                            "outs": ["done-${item.me}"]}})
    doc = run_json(cli, "-j", "2")
    assert set(outcomes(doc).values()) == {"ran"}


def test_each_instance_is_a_child_run_filterable_and_sortable_by_metric(cli, project):
    sweep_project(project)
    parent = run_json(cli)["run_id"]
    res = cli("run", "list", "--json", "--filter", f"parent == '{parent}'", "--sort", "-metrics.acc")
    assert res.exit_code == 0, res.stderr
    children = res.json()
    assert [c["name"] for c in children] == ["train@lr=0.01,depth=2", "train@lr=0.1,depth=2",
                                             "train@lr=0.01,depth=4", "train@lr=0.1,depth=4"]
    first = children[0]
    assert first["parent_id"] == parent and first["params"] == {"lr": 0.01, "depth": 2}
    assert first["metrics"]["acc"] == 0.94 and first["tags"]["mlctl.sweep"] == "train"
    assert first["tags"]["stage.cache"] == "miss" and first["status"] == "finished"
    parent_run = cli("run", "show", parent, "--json").json()
    assert parent_run["metrics"]["best_acc"] == 0.94 and "acc" not in parent_run["metrics"]
    assert parent_run["tags"]["mlctl.pipeline"] == "train,select"
    compare = cli("run", "compare", children[0]["id"], children[-1]["id"])
    assert compare.exit_code == 0 and "acc" in compare.stdout


def test_a_stage_script_logs_into_its_instance_run(cli, project):
    code = "import mlctl, sys; r = mlctl.start_run(); r.log_metric('loss', float(sys.argv[1])); r.end()"
    project.pipeline({"t": {"foreach": [1, 2], "cmd": f'{sys.executable} -c "{code}" ${{item}}'}})
    parent = run_json(cli)["run_id"]
    res = cli("run", "list", "--json", "--filter", f"parent == '{parent}' and metrics.loss == 2")
    assert [r["name"] for r in res.json()] == ["t@2"]
