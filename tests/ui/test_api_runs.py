"""/api/runs, /api/runs/{id}, metrics, compare, artifacts and experiments, in process."""

from __future__ import annotations

import json

import pytest

from tests.factories import damage_object


def test_list_newest_first_with_total_and_columns(client):
    body = client.get("/api/runs").json()
    assert body["total"] == 12 and len(body["runs"]) == 12
    names = [r["name"] for r in body["runs"]]
    assert names[0] == "gbm-11" and names[-1] == "rf-0"
    assert body["columns"] == {"params": ["C", "depth", "model"], "metrics": ["acc", "loss", "weird"],
                               "tags": ["team"]}
    first = body["runs"][0]
    assert set(first) >= {"id", "experiment", "name", "status", "start_time", "end_time", "duration", "params",
                          "metrics", "tags", "git"}


def test_filter_uses_the_run_list_language(client):
    body = client.get("/api/runs", params={"filter": "params.model == 'rf' and metrics.acc > 0.94"}).json()
    assert {r["name"] for r in body["runs"]} == {"rf-6", "rf-9"}
    assert body["total"] == 2 and body["filter"] == "params.model == 'rf' and metrics.acc > 0.94"


def test_filter_by_experiment_status_and_tag(client):
    assert client.get("/api/runs", params={"experiment": "fraud"}).json()["total"] == 4
    failed = client.get("/api/runs", params={"filter": "status == 'failed'"}).json()
    assert [r["name"] for r in failed["runs"]] == ["lr-4"]
    assert client.get("/api/runs", params={"filter": "tags.team like 'ri%'"}).json()["total"] == 6


def test_filter_on_a_key_no_run_has_is_empty_not_an_error(client):
    body = client.get("/api/runs", params={"filter": "metrics.nothing > 1"}).json()
    assert body["total"] == 0 and body["runs"] == []


def test_sort_and_paging(client):
    body = client.get("/api/runs", params={"sort": "metrics.acc", "limit": 5, "offset": 0}).json()
    accs = [r["metrics"]["acc"] for r in body["runs"]]
    assert accs == sorted(accs) and len(accs) == 5 and body["total"] == 12
    rest = client.get("/api/runs", params={"sort": "metrics.acc", "limit": 5, "offset": 10}).json()
    assert len(rest["runs"]) == 2 and rest["runs"][0]["metrics"]["acc"] >= accs[-1]
    desc = client.get("/api/runs", params={"sort": "-params.depth,name", "limit": 3}).json()
    assert [r["params"]["depth"] for r in desc["runs"]] == [6, 6, 6]


def test_nan_metrics_are_strict_json_strings(client):
    raw = client.get("/api/runs", params={"filter": "name == 'lr-7'"}).text
    assert '"weird":"NaN"' in raw
    json.loads(raw)  # strict: no bare NaN


@pytest.mark.parametrize("query, parameter", [
    ({"filter": "metrics.acc > > 1"}, "filter"),
    ({"filter": "metrics.acc > 'x'"}, "filter"),
    ({"filter": "bogus.key == 1"}, "filter"),
    ({"filter": "(metrics.acc > 1"}, "filter"),
    ({"sort": "-metrics."}, "sort"),
    ({"sort": "acc"}, "sort"),
    ({"sort": ","}, "sort"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"offset": "1e3"}, "offset"),
    ({"offset": "99999999999999999999"}, "offset"),
    ({"sortt": "name"}, "sortt"),
    ({"filter": "x" * 5000}, "filter"),
    ({"filter": "name == '\x00'"}, "filter"),
    ({"filter": "(" * 500 + "metrics.acc > 1" + ")" * 500}, "filter"),  # a usage error, not a RecursionError
])
def test_every_bad_parameter_is_a_400_json_error(client, query, parameter):
    resp = client.get("/api/runs", params=query)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["status"] == 400 and body["error"] and body["parameter"] == parameter


def test_filter_error_points_at_the_token(client):
    body = client.get("/api/runs", params={"filter": "metrics.acc >= 0.9 and and params.C == 1"}).json()
    assert body["column"] == 24 and body["token"] == "and"
    assert "column 24" in body["error"] and body["hint"]


def test_repeated_parameter_is_refused(client):
    resp = client.get("/api/runs?limit=1&limit=2")
    assert resp.status_code == 400 and "more than once" in resp.json()["error"]


def test_experiments(client):
    body = client.get("/api/experiments").json()
    assert [(e["name"], e["runs"]) for e in body["experiments"]] == [("churn", 8), ("fraud", 4)]


def test_show_run_by_prefix(client, shared_repo):
    run_id = shared_repo.known_runs["rf-0"]
    others = [i for i in shared_repo.known_runs.values() if i != run_id]
    unique = next(run_id[:n] for n in range(1, 27) if not any(o.startswith(run_id[:n]) for o in others))
    assert client.get(f"/api/runs/{run_id.lower()}").json()["id"] == run_id
    body = client.get(f"/api/runs/{unique.lower()}").json()
    assert body["id"] == run_id and body["params"] == {"model": "rf", "C": 0.1, "depth": 3}
    assert body["metric_points"] == {"acc": 40, "loss": 40}
    assert [a["path"] for a in body["artifacts"]] == ["model.pkl", "plots/roc.png"]
    png = body["artifacts"][1]
    assert png["type"] == "image/png" and png["inline"] and png["present"] and png["size"] > 0
    assert body["git"] == {"commit": None, "dirty": None}
    assert body["lineage"] == {"parent": None, "parent_short_id": None, "children": [], "data": [], "outputs": [],
                               "models": []}


def test_unknown_and_ambiguous_runs(client):
    resp = client.get("/api/runs/ZZZZZZZZZZ")
    assert resp.status_code == 404 and "unknown run" in resp.json()["error"]
    resp = client.get("/api/runs/not-an-id!")
    assert resp.status_code == 404
    resp = client.get("/api/runs/0")  # every id starts with 0 for centuries
    assert resp.status_code == 400 and "ambiguous" in resp.json()["error"]


def test_metric_curves_and_downsampling(client, shared_repo):
    run_id = shared_repo.known_runs["gbm-2"]
    body = client.get(f"/api/runs/{run_id}/metrics").json()
    assert body["status"] == "finished" and set(body["curves"]) == {"acc", "loss"}
    loss = body["curves"]["loss"]
    assert loss["total"] == 40 and not loss["downsampled"] and loss["points"][0][:2] == [0, 1.02]
    small = client.get(f"/api/runs/{run_id}/metrics", params={"keys": "loss", "max_points": 10}).json()
    curve = small["curves"]["loss"]
    assert set(small["curves"]) == {"loss"} and curve["downsampled"] and len(curve["points"]) <= 11
    assert curve["points"][-1][0] == 39 and curve["points"][0][0] == 0
    assert client.get(f"/api/runs/{run_id}/metrics", params={"max_points": "1"}).status_code == 400
    missing = client.get(f"/api/runs/{run_id}/metrics", params={"keys": "nope"}).json()
    assert missing["curves"]["nope"] == {"points": [], "total": 0, "downsampled": False}


def test_downsample_keeps_spikes():
    from mlctl.ui.api_runs import downsample

    points = [(s, 1.0, None) for s in range(10_000)]
    points[5_003] = (5_003, 99.0, None)
    shown = downsample(points, 100)
    assert len(shown) <= 101 and (5_003, 99.0, None) in shown and shown[-1] == points[-1]


def test_compare_marks_differences(client, shared_repo):
    ids = [shared_repo.known_runs[n] for n in ("rf-0", "rf-3", "rf-6")]
    body = client.get("/api/compare", params={"runs": ",".join(ids)}).json()
    assert [r["id"] for r in body["runs"]] == ids
    params = {row["key"]: row for row in body["params"]}
    assert params["model"] == {"key": "model", "values": ["rf", "rf", "rf"], "present": [True] * 3, "different": False}
    assert params["C"]["different"] is False and params["depth"]["different"] is True
    tags = {row["key"]: row for row in body["tags"]}
    assert tags["team"]["values"] == ["risk", "ml", "risk"] and tags["team"]["different"]
    assert set(body["curves"]) == {"acc", "loss"} and set(body["curves"]["acc"]) == set(ids)


def test_compare_absent_keys_are_differences(client, shared_repo):
    ids = [shared_repo.known_runs[n] for n in ("rf-6", "lr-7")]
    body = client.get("/api/compare", params={"runs": ",".join(ids)}).json()
    weird = {row["key"]: row for row in body["metrics"]}["weird"]
    assert weird["present"] == [False, True] and weird["values"] == [None, "NaN"] and weird["different"]


@pytest.mark.parametrize("runs, status", [("", 400), ("01", 400), ("A,B", 404), ("x" * 30 + ",y", 404)])
def test_compare_bad_input(client, shared_repo, runs, status):
    assert client.get("/api/compare", params={"runs": runs}).status_code == status


def test_compare_same_run_twice_and_too_many(client, shared_repo):
    run_id = shared_repo.known_runs["rf-0"]
    assert client.get("/api/compare", params={"runs": f"{run_id},{run_id}"}).status_code == 400
    many = ",".join([run_id] * 21)
    assert client.get("/api/compare", params={"runs": many}).status_code == 400


def test_artifact_download_is_verified(client, shared_repo):
    run_id = shared_repo.known_runs["rf-0"]
    resp = client.get(f"/api/runs/{run_id}/artifacts/model.pkl")
    assert resp.status_code == 200 and resp.content == b"pretend pickle " * 100
    assert resp.headers["content-disposition"].startswith("attachment;")
    assert resp.headers["content-type"] == "application/octet-stream"
    from mlctl.store.hashing import hash_bytes

    assert resp.headers["x-content-hash"] == hash_bytes(resp.content)
    image = client.get(f"/api/runs/{run_id}/artifacts/plots/roc.png", params={"inline": "1"})
    assert image.headers["content-type"] == "image/png" and image.headers["content-disposition"].startswith("inline")


def test_corrupt_artifact_is_refused_before_any_byte(own_client, runs_repo):
    client = own_client
    run_id = runs_repo.known_runs["rf-0"]
    digest = client.get(f"/api/runs/{run_id}").json()["artifacts"][0]["hash"]
    damage_object(runs_repo, digest, "flip")
    resp = client.get(f"/api/runs/{run_id}/artifacts/model.pkl")
    assert resp.status_code == 500
    assert "corrupt" in resp.json()["error"] and "fsck" in resp.json()["hint"]
    damage_object(runs_repo, digest, "missing")
    resp = client.get(f"/api/runs/{run_id}/artifacts/model.pkl")
    assert resp.status_code == 404 and "not in the local store" in resp.json()["error"]
    listed = client.get(f"/api/runs/{run_id}").json()["artifacts"][0]
    assert listed["present"] is False and listed["size"] is None


def test_unknown_artifact_and_bad_inline(client, shared_repo):
    run_id = shared_repo.known_runs["rf-0"]
    assert client.get(f"/api/runs/{run_id}/artifacts/nope.bin").status_code == 404
    assert client.get(f"/api/runs/{run_id}/artifacts/../../config.yaml").status_code == 404
    assert client.get(f"/api/runs/{run_id}/artifacts/model.pkl", params={"inline": "maybe"}).status_code == 400


def test_an_empty_repository_lists_nothing(repo):
    from tests.ui.conftest import ThreadServer

    with ThreadServer(repo) as c:
        assert c.get("/api/runs").json()["total"] == 0
        assert c.get("/api/runs", params={"filter": "metrics.a >"}).status_code == 400
        assert c.get("/api/experiments").json() == {"experiments": []}


def test_cached_counts_follow_new_runs(own_client, runs_repo, ui_backend, monkeypatch):
    """On SQLite a write changes the index's files, so the next answer counts afresh; on
    the backend another machine may have written, so a count lives BACKEND_TTL_S."""
    import time

    from mlctl.tracking.runs import create_run
    from mlctl.ui import cache

    monkeypatch.setattr(cache, "BACKEND_TTL_S", 2.0)
    time.sleep(2.0 - time.monotonic() % 2.0)  # at the start of a TTL period: the counts below stay cached
    assert own_client.get("/api/runs", params={"filter": "metrics.acc > 0"}).json()["total"] == 12
    assert own_client.get("/api/experiments").json()["experiments"][0]["runs"] == 8
    create_run(runs_repo, experiment="churn", status="finished", metrics=[("acc", 0, 0.5, None)], capture_context=False)
    if ui_backend == "postgresql":
        assert own_client.get("/api/runs", params={"filter": "metrics.acc > 0"}).json()["total"] == 12
        time.sleep(2.0)
    assert own_client.get("/api/runs", params={"filter": "metrics.acc > 0"}).json()["total"] == 13
    assert own_client.get("/api/experiments").json()["experiments"][0]["runs"] == 9


def test_short_ids_are_unique_among_every_run(own_client, runs_repo):
    from mlctl.tracking.runs import create_run

    sweep = ["01HX00000000AB000000000000", "01HX00000000AC000000000000"]
    for run_id in sweep:
        create_run(runs_repo, run_id=run_id, experiment="sweep", status="finished", capture_context=False)
    body = own_client.get("/api/runs", params={"experiment": "sweep"}).json()
    assert sorted(r["short_id"] for r in body["runs"]) == ["01HX00000000AB", "01HX00000000AC"]
    one = own_client.get("/api/runs", params={"filter": f"id == '{sweep[0]}'"}).json()["runs"]
    assert one[0]["short_id"] == "01HX00000000AB"  # unique among all runs, not only the page
    assert own_client.get("/api/runs/01HX00000000AC").json()["short_id"] == "01HX00000000AC"
    compared = own_client.get("/api/compare", params={"runs": ",".join(sweep)}).json()
    assert [r["short_id"] for r in compared["runs"]] == ["01HX00000000AB", "01HX00000000AC"]
