"""Retrain fixtures: a small real project on scikit-learn's breast-cancer data.

One pipeline stage (`train`) splits data/raw/patients.csv into training rows and a
holdout, fits a classifier and writes model.pkl and data/holdout.csv; params.yaml picks
the model (logreg, or dummy for a degraded one), can make the stage sleep or fail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import git
from tests.pgfixtures import use_backend
from tests.snapshots import Snapshot

FEATURES = ["mean_radius", "mean_texture", "mean_smoothness", "worst_radius", "worst_texture", "worst_concavity"]
TARGET = "malignant"
TRAINED: dict[str, Snapshot] = {}  # backend -> this worker's trained project


@pytest.fixture(params=["local", "postgresql"], autouse=True)
def backend(request, isolated_env, monkeypatch) -> str:
    """Every retrain test runs against both: runs, the registry and drift records in this
    repository's .mlctl/, and all three on a fresh database of the test PostgreSQL server
    (tests/pgfixtures.py; subprocesses inherit MLCTL_BACKEND_URL)."""
    return use_backend(request, monkeypatch)


TRAIN_PY = '''"""Fit a classifier on data/raw/patients.csv; write model.pkl and the holdout split."""
import pickle
import sys
import time

import pandas as pd
import yaml
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

params = yaml.safe_load(open("params.yaml"))["train"]
time.sleep(params.get("sleep", 0))
if params.get("fail"):
    sys.exit("training failed on purpose")
raw = pd.read_csv("data/raw/patients.csv")
holdout = raw.sample(frac=0.3, random_state=7)
train = raw.drop(holdout.index)
X, y = train.drop(columns=["malignant"]), train["malignant"]
if params["model"] == "dummy":
    model = DummyClassifier(strategy="most_frequent")
else:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=2000))
model.fit(X, y)
with open("model.pkl", "wb") as f:
    pickle.dump(model, f)
holdout.to_csv("data/holdout.csv", index=False)
'''

PIPELINE = {"stages": {"train": {"cmd": "python train.py", "deps": ["train.py", "data/raw"], "params": ["train"],
                                 "outs": ["model.pkl", "data/holdout.csv"]}}}

POLICY = {
    "model": "cancer",
    "triggers": {"drift": True, "new_data": True},
    "drift": {"reference": "auto", "current": "predictions:cancer", "drift_share": 0.5, "since": "7d"},
    "pipeline": {"stages": ["train"], "model_output": "model.pkl"},
    "evaluate": {"data": "data/holdout.csv", "target": TARGET},
    "gates": ["accuracy>=0.85"],
    "min_improvement": {"metric": "accuracy", "delta": 0.0},
    "cooldown": "0s",
    "max_versions_kept": 10,
    "performance_floor": {"metric": "accuracy", "min": 0.8, "min_rows": 20},
}


def patients():
    """The real breast-cancer data (shipped with scikit-learn), six features, 1 = malignant."""
    from mlctl.demo.project import patients_frame

    return patients_frame()[FEATURES + [TARGET]]


def shifted(frame, factor: float = 1.35, rows: int | None = None, seed: int = 3):
    """A population of larger tumours: the same patients, size features scaled."""
    sample = frame if rows is None else frame.sample(n=rows, replace=True, random_state=seed)
    sample = sample.reset_index(drop=True).copy()
    for col in ("mean_radius", "worst_radius"):
        sample[col] = sample[col] * factor
    return sample


class Project:
    def __init__(self, repo):
        self.repo = repo
        self.root = Path(repo.root)

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def policy(self, **changes) -> dict:
        policy = {**POLICY, **changes}
        self.write("retrain.yaml", yaml.safe_dump(policy, sort_keys=False))
        return policy

    def params(self, **train) -> None:
        self.write("params.yaml", yaml.safe_dump({"train": {"model": "logreg", "C": 1.0, **train}}))

    def set_data(self, frame, add: bool = True) -> None:
        path = self.root / "data/raw/patients.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        if add:
            from mlctl.data import api

            api.add(self.repo, ["data/raw"])

    def log_predictions(self, frame, version: int, model: str = "cancer", start: int = 0) -> list[str]:
        """Rows as the server logs them (the real prediction log writer); returns request ids."""
        from mlctl.predlog.api import PredictionLogWriter

        ids = [f"req-{start + i}" for i in range(len(frame))]
        rows = [{"request_id": rid, "version": version, "prediction": 0, "inputs": rec}
                for rid, rec in zip(ids, frame[FEATURES].to_dict("records"))]
        with PredictionLogWriter(self.repo, model) as writer:
            writer.append(rows)
        return ids

    def history(self, model: str = "cancer") -> list[dict]:
        from mlctl.registry.aliases import history

        return history(self.repo, model)

    def production(self, model: str = "cancer") -> int | None:
        from mlctl.registry.aliases import get_aliases

        return get_aliases(self.repo, model).get("production")

    def versions(self, model: str = "cancer") -> list[int]:
        from mlctl.registry.index import read_index

        return sorted(int(v) for v in read_index(self.repo, model)["versions"])


def python_on_path(monkeypatch) -> None:
    """Stage commands say `python`: make it this interpreter."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def make_project(repo, monkeypatch) -> Project:
    python_on_path(monkeypatch)
    p = Project(repo)
    p.write("train.py", TRAIN_PY)
    p.write("pipeline.yaml", yaml.safe_dump(PIPELINE, sort_keys=False))
    p.params()
    p.policy()
    p.set_data(patients())
    git(p.root, "add", "-A")
    git(p.root, "commit", "-q", "-m", "project")
    return p


@pytest.fixture
def project(repo, monkeypatch):
    return make_project(repo, monkeypatch)


@pytest.fixture
def trained(repo, cli, backend, monkeypatch, request, tmp_path_factory):
    """The project with cancer:1 trained by a first retrain (no production yet) and promoted.

    Training costs seconds, so each worker trains once per backend and the later tests get a
    copy of the result: the repository folder (git history, .mlctl/ and the work tree) and,
    on PostgreSQL, a database made from the trained one as a template (snapshots.py)."""
    snapshot = TRAINED.get(backend)
    if snapshot is not None:
        from mlctl.store.repo import Repo

        snapshot.restore(repo, request, monkeypatch)
        python_on_path(monkeypatch)
        return Project(Repo(repo.root))  # nothing read before the copy is kept
    project = make_project(repo, monkeypatch)
    res = cli("retrain", "cancer")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert project.production() == 1
    TRAINED[backend] = Snapshot.take(repo, tmp_path_factory, request)
    return project


def mlctl_env(extra: dict | None = None) -> dict:
    from tests.conftest import PROJECT

    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env
