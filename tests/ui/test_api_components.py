"""/api/models, /api/lineage, /api/drift and /api/pipeline over a repository that holds
the whole lifecycle (runs, a model's releases, drift checks, a stale pipeline)."""

from __future__ import annotations

import pytest

from tests.factories import damage_object
from tests.ui.conftest import ThreadServer


@pytest.fixture(scope="module")
def life(lifecycle_repo):
    with ThreadServer(lifecycle_repo) as c:
        yield c


def test_health_lists_components(life):
    assert life.get("/api/health").json()["components"] == {
        "tracking": True, "registry": True, "monitoring": True, "pipeline": True, "validation": True}


def test_models_list(life):
    models = {m["name"]: m for m in life.get("/api/models").json()["models"]}
    assert set(models) == {"churn", "fraud"}
    churn = models["churn"]
    assert churn["versions"] == 3 and churn["latest"] == 3
    assert churn["aliases"] == {"production": 1, "staging": 3} and churn["live_deployments"] == 1


def test_model_versions_aliases_history_deployments(life, lifecycle_repo):
    body = life.get("/api/models/churn").json()
    assert [v["version"] for v in body["versions"]] == [3, 2, 1]
    assert body["versions"][0]["aliases"] == ["staging"] and body["versions"][2]["aliases"] == ["production"]
    assert body["versions"][2]["run_id"] == lifecycle_repo.known_runs["rf-3"]
    moves = [(e["action"], e["alias"], e["from"], e["to"], e["reason"]) for e in body["history"]]
    assert moves == [("rollback", "production", 2, 1, "latency regression in v2"),
                     ("set", "staging", None, 3, "candidate from the nightly sweep"),
                     ("promote", "production", 1, 2, "better recall"),
                     ("promote", "production", None, 1, "first release")]
    gate = body["history"][2]["gates"][0]
    assert gate["gate"] == "acc>=0.9" and gate["passed"] is True
    (deployment,) = body["deployments"]
    assert deployment["port"] == 8080 and deployment["version"] == 1 and deployment["stale"] is False


@pytest.mark.parametrize("name, status", [("nope", 404), ("bad name!", 400), ("x" * 300, 400)])
def test_unknown_or_invalid_model(life, name, status):
    resp = life.get(f"/api/models/{name}")
    assert resp.status_code == status and resp.json()["error"]


def test_lineage(life, lifecycle_repo):
    body = life.get("/api/lineage", params={"target": "churn@production"}).json()
    assert body["kind"] == "model" and body["models"] == ["churn:1"]
    assert lifecycle_repo.known_runs["rf-3"] in body["runs"]
    assert life.get("/api/lineage").status_code == 400
    assert life.get("/api/lineage", params={"target": "churn@nowhere"}).status_code == 404
    run = life.get(f"/api/runs/{lifecycle_repo.known_runs['rf-3']}").json()
    assert run["lineage"]["models"] == [{"name": "churn", "version": 1, "aliases": ["production"]}]


def test_drift_checks(life, lifecycle_repo):
    checks = life.get("/api/drift").json()["checks"]
    assert [c["dataset_drift"] for c in checks] == [True, False]  # newest first
    assert "tenure" in checks[0]["drifted_columns"] and checks[1]["drifted_columns"] == []
    assert len(life.get("/api/drift", params={"limit": 1}).json()["checks"]) == 1
    assert life.get("/api/drift", params={"model": "fraud"}).json()["checks"] == []
    full = life.get(f"/api/drift/{checks[0]['id']}").json()
    assert full["result"]["dataset_drift"] is True and full["id"] == checks[0]["id"]


def test_drift_report_is_served_sandboxed(life):
    check = life.get("/api/drift").json()["checks"][0]
    resp = life.get(f"/api/drift/{check['id']}/report")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "Dataset drift detected" in resp.text
    csp = resp.headers["content-security-policy"]
    assert csp.startswith("sandbox;") and "script-src" not in csp and "default-src 'none'" in csp


@pytest.mark.parametrize("query, status", [("limit=0", 400), ("limit=x", 400), ("limit=1001", 400), ("mdl=x", 400)])
def test_drift_bad_parameters(life, query, status):
    assert life.get("/api/drift?" + query).status_code == status


def test_unknown_check_and_damaged_report(life, lifecycle_repo):
    assert life.get("/api/drift/20990101T000000000Z-deadbeef").status_code == 404
    assert life.get("/api/drift/" + "x" * 500).status_code == 404
    assert life.get("/api/drift/nope/report").status_code == 404


def test_pipeline_dag_and_stale_stages(life):
    body = life.get("/api/pipeline").json()
    assert body["pipeline"]["order"] == ["prepare", "features", "train", "report"]
    assert {(e["from"], e["to"]) for e in body["pipeline"]["edges"]} == {
        ("prepare", "features"), ("features", "train"), ("train", "report"), ("prepare", "report")}
    states = {s["stage"]: s for s in body["status"]["stages"]}
    assert [states[n]["state"] for n in body["pipeline"]["order"]] == ["ok", "ok", "stale", "stale"]
    ran = {s["name"]: s["last_ran"] for s in body["pipeline"]["stages"]}
    assert ran["prepare"]["executor"] == "local" and ran["prepare"]["node"] and ran["prepare"]["attempts"] == 1
    assert states["train"]["reasons"][0]["text"] == "param train.C changed: 1.0 -> 2.5"
    assert body["status_error"] is None


def test_repository_without_pipeline_or_models(client):
    resp = client.get("/api/pipeline")
    assert resp.status_code == 404 and "pipeline.yaml" in resp.json()["error"]
    assert client.get("/api/models").json() == {"models": [], "pending_approvals": []}  # a field added (issue 23.13)
    assert client.get("/api/drift").json() == {"checks": []}


def test_broken_pipeline_yaml_is_a_400(runs_repo):
    (runs_repo.root / "pipeline.yaml").write_text("stages: [oops\n")
    with ThreadServer(runs_repo) as c:
        resp = c.get("/api/pipeline")
    assert resp.status_code == 400 and "pipeline.yaml" in resp.json()["error"]


def test_damaged_report_object(runs_repo):
    from tests.ui.conftest import build_drift

    check = build_drift(runs_repo)[0]
    damage_object(runs_repo, check["report"]["object"], "garbage")
    with ThreadServer(runs_repo) as c:
        resp = c.get(f"/api/drift/{check['id']}/report")
    assert resp.status_code == 500 and "corrupt" in resp.json()["error"]
