"""`pipeline show`, `pipeline status` and `run --dry-run`; DAG properties."""

from __future__ import annotations


from hypothesis import given, settings, strategies as st

from mlctl.pipeline import dag
from mlctl.pipeline.spec import Pipeline, PipelineError, Stage


def diamond(project):
    project.write("raw.txt", "r\n")
    project.params({"train": {"C": 1}})
    project.pipeline({
        "prepare": {"cmd": "cp raw.txt p.txt", "deps": ["raw.txt"], "outs": ["p.txt"], "desc": "clean"},
        "features": {"cmd": "cp p.txt f.txt", "deps": ["p.txt"], "outs": ["f.txt"]},
        "stats": {"cmd": "wc p.txt > s.txt", "deps": ["p.txt"], "outs": ["s.txt"]},
        "train": {"cmd": "cat f.txt s.txt params.yaml > m.txt", "deps": ["f.txt", "s.txt"], "params": ["train.C"],
                  "outs": ["m.txt"]},
        "evaluate": {"cmd": "cksum m.txt > e.txt", "deps": ["m.txt"], "outs": ["e.txt"]},
        "notify": {"cmd": "true", "after": ["train"]},
    })


def test_show_tree(cli, project):
    diamond(project)
    res = cli("pipeline", "show")
    assert res.exit_code == 0
    assert res.stdout.splitlines() == [
        "prepare",
        "├── features",
        "│   └── train",
        "│       ├── evaluate",
        "│       └── notify",
        "└── stats",
        "    └── train  (see above)",
    ]


def test_show_mermaid(cli, project):
    diamond(project)
    lines = cli("pipeline", "show", "--mermaid").stdout.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    s0["prepare"]' in lines and "    s0 --> s1" in lines and "    s2 --> s3" in lines
    assert "    s3 --> s4" in lines and "    s3 --> s5" in lines


def test_show_json(cli, project):
    diamond(project)
    doc = cli("pipeline", "show", "--json").json()
    assert doc["order"] == ["prepare", "features", "stats", "train", "evaluate", "notify"]
    train = doc["stages"][3]
    assert train["upstream"] == ["features", "stats"] and train["downstream"] == ["evaluate", "notify"]
    assert train["params"] == ["train.C"] and doc["stages"][0]["desc"] == "clean"
    assert {"from": "stats", "to": "train"} in doc["edges"] and doc["params_file"] == "params.yaml"


def test_show_does_not_need_deps_to_exist(cli, project):
    project.pipeline({"a": {"cmd": "true", "deps": ["not/here"]}})
    assert cli("pipeline", "show").stdout == "a\n"
    assert cli("pipeline", "status").exit_code == 2


def test_status_names_the_changed_input_and_exits_1(cli, project):
    diamond(project)
    res = cli("pipeline", "status")
    assert res.exit_code == 1
    assert "no record of a run in pipeline.lock" in res.stdout
    assert cli("pipeline", "run").exit_code == 0
    res = cli("pipeline", "status")
    assert res.exit_code == 0 and "all stages up to date" in res.stderr
    project.params({"train": {"C": 2}})
    res = cli("pipeline", "status", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["stale"] is True
    train = [s for s in doc["stages"] if s["stage"] == "train"][0]
    assert train["state"] == "stale" and train["restorable"] is False
    assert train["reasons"] == [{"kind": "param", "target": "train.C", "old": 1, "new": 2,
                                 "text": "param train.C changed: 1 -> 2"}]
    notify = [s for s in doc["stages"] if s["stage"] == "notify"][0]
    assert notify["state"] == "ok"  # `after:` orders stages; it carries no data, so no staleness
    evaluate = [s for s in doc["stages"] if s["stage"] == "evaluate"][0]
    assert evaluate["reasons"][0]["text"] == "upstream train will run"
    human = cli("pipeline", "status").stdout.splitlines()
    assert human[0].split() == ["stage", "state", "why"]
    assert any(l.split()[:2] == ["train", "stale"] and l.endswith("param train.C changed: 1 -> 2") for l in human)


def test_status_of_selected_stages(cli, project):
    diamond(project)
    cli("pipeline", "run")
    project.write("raw.txt", "changed\n")
    doc = cli("pipeline", "status", "stats", "--json").json()
    assert [s["stage"] for s in doc["stages"]] == ["prepare", "stats"]


def test_dry_run_explains_and_changes_nothing(cli, project):
    diamond(project)
    res = cli("pipeline", "run", "--dry-run")
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].split() == ["stage", "action", "why"]
    assert not (project.root / "pipeline.lock").exists() and not (project.root / "p.txt").exists()
    cli("pipeline", "run")
    project.params({"train": {"C": 2}})
    cli("pipeline", "run")
    project.params({"train": {"C": 1}})
    lock_before = (project.root / "pipeline.lock").read_text()
    doc = cli("pipeline", "run", "--dry-run", "--json").json()
    actions = {s["stage"]: s["action"] for s in doc["stages"]}
    # evaluate's dep is predicted from train's cached outputs, so it is restorable too
    assert actions == {"prepare": "ok", "features": "ok", "stats": "ok", "train": "restore", "evaluate": "restore",
                       "notify": "ok"}
    assert doc["dry_run"] is True and doc["stages"][3]["cached_run"]
    assert (project.root / "pipeline.lock").read_text() == lock_before
    forced = cli("pipeline", "run", "--dry-run", "--force", "--json").json()
    assert {s["action"] for s in forced["stages"]} == {"run"}
    assert forced["stages"][0]["reasons"][0]["text"] == "--force"


def test_dry_run_after_a_stage_that_will_run(cli, project):
    diamond(project)
    cli("pipeline", "run")
    project.write("raw.txt", "new\n")
    doc = cli("pipeline", "run", "-n", "--json").json()
    assert doc["stages"][0]["reasons"][0]["text"] == "dep raw.txt changed"
    assert doc["stages"][1]["reasons"][0]["text"] == "upstream prepare will run"


# -- properties of the graph code ------------------------------------------------------------
@st.composite
def graphs(draw):
    n = draw(st.integers(1, 8))
    edges = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=16))
    return n, sorted((a, b) for a, b in edges if a != b)


def build(n: int, edges) -> Pipeline:
    stages = {f"s{i}": Stage(f"s{i}", "true", outs=(f"o{i}",),
                             deps=tuple(f"o{a}" for a, b in edges if b == i)) for i in range(n)}
    return Pipeline(root=None, params_file="params.yaml", stages=stages)


def has_cycle(n: int, edges) -> bool:
    reach = {i: {b for a, b in edges if a == i} for i in range(n)}
    for _ in range(n):
        for i in range(n):
            reach[i] |= set().union(*(reach[j] for j in reach[i])) if reach[i] else set()
    return any(i in reach[i] for i in range(n))


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_order_respects_every_edge_or_a_real_cycle_is_named(graph):
    n, edges = graph
    try:
        pipeline = dag.link(build(n, edges))
    except PipelineError as exc:
        assert has_cycle(n, edges)
        cycle = exc.message.split("cycle: ", 1)[1].split(" -> ")
        assert cycle[0] == cycle[-1]
        for a, b in zip(cycle, cycle[1:]):  # every step is a real edge
            assert (int(a[1:]), int(b[1:])) in edges
        return
    assert not has_cycle(n, edges)
    position = {name: i for i, name in enumerate(pipeline.order)}
    assert sorted(position) == sorted(pipeline.stages)
    for a, b in edges:
        assert position[f"s{a}"] < position[f"s{b}"]
    for target in pipeline.stages:
        chosen = dag.select(pipeline, [target])
        assert set(chosen) == dag.ancestors(pipeline, target) | {target}
