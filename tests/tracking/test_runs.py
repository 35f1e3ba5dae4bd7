"""Reading runs: ids and prefixes, listing with sort and paging, counting, deleting."""

from __future__ import annotations

import math

import pytest

from mlctl.errors import NotFoundError, UsageError
from mlctl.tracking import edit
from mlctl.tracking.runs import count_runs, experiments, get_run, list_runs
from mlctl.tracking.writes import create_run


def test_get_run_by_id_and_unique_prefix(repo, make_run):
    run = make_run()
    assert get_run(repo, run.id).id == run.id
    assert get_run(repo, run.id[:20].lower()).id == run.id


def test_ambiguous_prefix_lists_the_candidates(repo):
    a = create_run(repo, run_id="01ARZ3NDEKTSV4RRFFQ69G5FA1", status="finished")
    b = create_run(repo, run_id="01ARZ3NDEKTSV4RRFFQ69G5FA2", status="finished")
    with pytest.raises(UsageError) as info:
        get_run(repo, "01ARZ3NDEK")
    assert a.id in info.value.message and b.id in info.value.message and "ambiguous" in info.value.message


@pytest.mark.parametrize("ref", ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "zzzz", "not-an-id!", ""])
def test_unknown_run_is_not_found(repo, make_run, ref):
    make_run()
    with pytest.raises(NotFoundError):
        get_run(repo, ref)


def test_list_sorts_with_missing_and_nan_last(repo, make_run):
    runs = {
        "high": make_run(metrics={"acc": 0.9}),
        "low": make_run(metrics={"acc": 0.1}),
        "nan": make_run(metrics={"acc": math.nan}),
        "none": make_run(),
        "mid": make_run(metrics={"acc": 0.5}),
    }
    names = {r.id: n for n, r in runs.items()}
    desc = [names[r.id] for r in list_runs(repo, sort="-metrics.acc")]
    asc = [names[r.id] for r in list_runs(repo, sort="metrics.acc")]
    assert desc[:3] == ["high", "mid", "low"] and set(desc[3:]) == {"nan", "none"}
    assert asc[:3] == ["low", "mid", "high"] and set(asc[3:]) == {"nan", "none"}
    assert [names[r.id] for r in list_runs(repo)] == ["mid", "none", "nan", "low", "high"]  # newest first


def test_sort_by_several_keys_and_params(repo, make_run):
    a = make_run(params={"model": "rf", "C": 2})
    b = make_run(params={"model": "rf", "C": 1})
    c = make_run(params={"model": "svm", "C": 3})
    assert [r.id for r in list_runs(repo, sort=["params.model", "-params.C"])] == [a.id, b.id, c.id]
    assert [r.id for r in list_runs(repo, sort="params.model,params.C")] == [b.id, a.id, c.id]


def test_limit_offset_count_and_experiment(repo, make_run):
    made = [make_run(experiment="e1" if i % 2 else "e2", metrics={"i": i}) for i in range(25)]
    newest_first = [r.id for r in reversed(made)]
    assert [r.id for r in list_runs(repo, limit=10)] == newest_first[:10]
    assert [r.id for r in list_runs(repo, limit=10, offset=20)] == newest_first[20:]
    assert count_runs(repo) == 25
    assert count_runs(repo, experiment="e1") == 12
    assert count_runs(repo, filter_expr="metrics.i >= 20") == 5
    assert {e["name"]: e["runs"] for e in experiments(repo)} == {"e1": 12, "e2": 13}
    with pytest.raises(UsageError):
        list_runs(repo, limit=-1)


def test_list_on_a_repo_without_runs(repo):
    assert list_runs(repo, filter_expr="metrics.acc > 1", sort="-metrics.acc") == []
    assert count_runs(repo) == 0
    with pytest.raises(UsageError):
        list_runs(repo, filter_expr="metrics.acc >")


def test_delete_restore_and_purge(repo, make_run):
    keep, gone = make_run(), make_run()
    with pytest.raises(UsageError, match="not deleted"):
        edit.purge_runs(repo, [gone.id])
    # ids made in the same millisecond share a long prefix: take the shortest unique one
    prefix = next(gone.id[:i] for i in range(8, len(gone.id) + 1) if not keep.id.startswith(gone.id[:i]))
    edit.delete_runs(repo, [prefix])
    assert [r.id for r in list_runs(repo)] == [keep.id]
    assert [r.id for r in list_runs(repo, deleted_only=True)] == [gone.id]
    assert get_run(repo, gone.id).deleted
    edit.delete_runs(repo, [gone.id], restore=True)
    assert count_runs(repo) == 2
    edit.delete_runs(repo, [gone.id])
    edit.purge_runs(repo, [gone.id])
    with pytest.raises(NotFoundError):
        get_run(repo, gone.id)


def test_tags_set_and_remove(repo, make_run):
    run = make_run(tags={"a": "1"})
    assert edit.tag_run(repo, run.id, {"b": "2"}) == {"a": "1", "b": "2"}
    assert edit.tag_run(repo, run.id, {}, remove=["a"]) == {"b": "2"}
    with pytest.raises(UsageError, match="no tag"):
        edit.tag_run(repo, run.id, {}, remove=["zzz"])


def test_to_json_is_strict(repo, make_run):
    from mlctl.cli.render import dumps_json

    run = make_run(metrics={"nan": math.nan, "inf": math.inf})
    doc = dumps_json(get_run(repo, run.id).to_json(history=True))
    assert '"NaN"' in doc and '"Infinity"' in doc
    assert "start_time" in doc and "+00:00" in doc
