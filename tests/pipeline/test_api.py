"""The core API other components (retrain, lineage, the dashboard) call."""

from __future__ import annotations

from mlctl.pipeline import api


def test_run_status_dag_and_producer(chain):
    repo = chain.repo
    assert api.exists(repo)
    assert api.producer(repo, "model.pkl")["fingerprint"] is None  # declared, not run yet
    report = api.run(repo, ["train"], jobs=2)
    assert report.ok and [r.stage for r in report.results] == ["prepare", "train"]
    assert report.results[1].outs["model.pkl"].kind == "file"
    assert {i.stage for i in api.status(repo).stale} == {"evaluate", "report"}
    assert api.dag(repo)["order"] == ["prepare", "train", "evaluate", "report"]
    made = api.producer(repo, "model.pkl")
    assert made["stage"] == "train" and made["output"] == "model.pkl"
    assert made["params"] == {"train": {"C": 1.0, "seed": 7}}
    assert made["deps"]["data/prepared"] == chain.lock()["stages"]["prepare"]["outs"]["data/prepared"]["hash"]
    assert made["outs"]["model.pkl"]["hash"] == report.results[1].outs["model.pkl"].hash
    inside = api.producer(repo, "data/prepared/all.csv")
    assert inside["stage"] == "prepare" and inside["output"] == "data/prepared"
    assert api.producer(repo, "data/raw/a.csv") is None


def test_no_pipeline(repo):
    assert not api.exists(repo)
