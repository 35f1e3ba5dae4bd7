"""Model files, data files and MLflow folders for the registry tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.factories import make_model, save_model
from tests.pgfixtures import use_backend

FEATURES = ["tenure", "charges", "calls"]


@pytest.fixture(params=["local", "postgresql"], autouse=True)
def backend(request, isolated_env, monkeypatch) -> str:
    """Every registry test runs against both: the local store's refs, and a fresh
    database on the test PostgreSQL server (tests/pgfixtures.py). A module whose
    behaviour is the refs' own (their formats on disk, push/pull between clones that
    share no backend) overrides this fixture with ["local"]."""
    return use_backend(request, monkeypatch)


def make_frame(n=300, seed=0, shift=0.0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "tenure": rng.integers(0, 72, n),
        "charges": rng.normal(60, 20, n).round(2),
        "calls": rng.integers(0, 10, n),
    })
    score = -0.05 * frame.tenure + 0.03 * frame.charges + 0.4 * frame.calls + shift
    frame["churned"] = np.where(score + rng.normal(0, 0.5, n) > score.median(), "yes", "no")
    return frame


@pytest.fixture(scope="session")
def model_files(tmp_path_factory):
    """Trained scikit-learn models saved in several ways, shared by the session."""
    import joblib
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LinearRegression

    out = tmp_path_factory.mktemp("models")
    frame = make_frame()
    X, y = frame[FEATURES], frame["churned"]
    good = make_model(X, y, scaled=True)
    weak = DummyClassifier(strategy="most_frequent").fit(X, y)
    reg = LinearRegression().fit(X[["tenure", "calls"]], frame["charges"])
    numpy_fit = make_model(X.to_numpy(), y)
    from tests.registry.fake_models import ConstantModel, NoPredict

    paths = {
        "good.pkl": good, "weak.pkl": weak, "reg.pkl": reg, "numpy.pkl": numpy_fit,
        "constant.pkl": ConstantModel("yes"), "nopredict.pkl": NoPredict(),
    }
    for name, model in paths.items():
        save_model(model, out / name)
    joblib.dump(good, out / "good.joblib")
    joblib.dump(good, out / "good_z.joblib", compress=3)
    return out


@pytest.fixture
def data_files(tmp_path):
    """train.csv, holdout.csv/.parquet (with the label), example.csv (inputs only)."""
    folder = tmp_path / "datafiles"
    folder.mkdir()
    make_frame(300, seed=0).to_csv(folder / "train.csv", index=False)
    holdout = make_frame(200, seed=1)
    holdout.to_csv(folder / "holdout.csv", index=False)
    holdout.to_parquet(folder / "holdout.parquet")
    holdout[FEATURES].head(20).to_csv(folder / "example.csv", index=False)
    return folder


def write_mlmodel(folder: Path, flavors: dict, signature: dict | None = None) -> Path:
    """A hand-built MLflow model folder (MLflow itself is not installed here)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    spec = {"artifact_path": "model", "flavors": flavors, "mlflow_version": "2.14.1",
            "model_uuid": "0" * 32, "utc_time_created": "2024-06-01 12:00:00.000000"}
    if signature:
        spec["signature"] = {k: json.dumps(v) for k, v in signature.items()}
    (folder / "MLmodel").write_text(yaml.safe_dump(spec))
    (folder / "requirements.txt").write_text("scikit-learn\n")
    (folder / "conda.yaml").write_text(textwrap.dedent("""\
        name: mlflow-env
        dependencies: [python=3.11, {pip: [scikit-learn]}]
    """))
    return folder


@pytest.fixture
def mlflow_sklearn(tmp_path, model_files):
    """What mlflow.sklearn.save_model writes: MLmodel with sklearn + python_function flavors."""
    folder = tmp_path / "mlflow_model"
    write_mlmodel(folder, {
        "python_function": {"env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                            "loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                            "predict_fn": "predict", "python_version": "3.11.7"},
        "sklearn": {"code": None, "pickled_model": "model.pkl", "serialization_format": "cloudpickle",
                    "sklearn_version": "1.5.0"},
    }, signature={"inputs": [{"type": "long", "name": "tenure", "required": True},
                             {"type": "double", "name": "charges", "required": True},
                             {"type": "long", "name": "calls", "required": True}],
                  "outputs": [{"type": "string", "required": True}]})
    (folder / "model.pkl").write_bytes((model_files / "good.pkl").read_bytes())
    return folder
