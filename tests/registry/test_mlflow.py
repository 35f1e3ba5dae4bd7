"""MLflow model folders (hand-built: MLflow is not installed in the test environment)."""

from __future__ import annotations

import pickle

import pytest

from mlctl.errors import UsageError
from mlctl.registry import versions
from mlctl.registry.evaluation import read_frame
from mlctl.registry.api import load_model
from tests.registry.conftest import FEATURES, write_mlmodel
from tests.registry.fake_models import ContextModel


def test_sklearn_flavor_folder(repo, mlflow_sklearn, data_files):
    v = versions.register(repo, "churn", mlflow_sklearn)
    assert v.flavor == "mlflow" and v.artifact["kind"] == "dir" and v.artifact["files"] == 4
    assert v.mlflow == {"kind": "sklearn", "path": "model.pkl"}
    assert v.signature["source"] == "mlflow"
    assert [c["type"] for c in v.signature["inputs"]] == ["long", "double", "long"]
    assert v.signature["output"] == {"type": "string"}
    assert v.task == "classification" and v.classes == ["no", "yes"]
    model = load_model(repo, v)
    frame = read_frame(data_files / "holdout.csv")
    assert set(model.predict(model.select_inputs(frame))) <= {"yes", "no"}
    assert model.predict_proba(frame[FEATURES]).shape == (200, 2)


def test_pyfunc_flavor_with_mlflow_sklearn_loader(repo, tmp_path, model_files, data_files):
    folder = write_mlmodel(tmp_path / "pyfunc", {"python_function": {
        "loader_module": "mlflow.sklearn", "model_path": "model.pkl", "python_version": "3.11"}})
    (folder / "model.pkl").write_bytes((model_files / "good.pkl").read_bytes())
    v = versions.register(repo, "churn", folder)
    assert v.mlflow["kind"] == "sklearn" and v.signature["source"] == "model"
    model = load_model(repo, "churn:1")
    assert len(model.predict(read_frame(data_files / "example.csv"))) == 20


def test_pyfunc_python_model_with_context_and_artifacts(repo, tmp_path, data_files):
    folder = write_mlmodel(tmp_path / "custom", {"python_function": {
        "loader_module": "mlflow.pyfunc.model", "python_model": "python_model.pkl",
        "artifacts": {"offset": {"path": "artifacts/offset.txt", "uri": "offset.txt"}}}},
        signature={"inputs": [{"type": "double", "name": "a"}], "outputs": [{"type": "double"}]})
    (folder / "artifacts").mkdir()
    (folder / "artifacts" / "offset.txt").write_text("10")
    (folder / "python_model.pkl").write_bytes(pickle.dumps(ContextModel()))
    v = versions.register(repo, "custom", folder)
    assert v.mlflow["kind"] == "python_model"
    import pandas as pd

    assert load_model(repo, v).predict(pd.DataFrame({"a": [1, 2]})) == [11.0, 12.0]


def test_pyfunc_custom_loader_module(repo, tmp_path):
    folder = write_mlmodel(tmp_path / "loader", {"python_function": {
        "loader_module": "tests.registry.fake_models", "data": "weights.bin"}})
    (folder / "weights.bin").write_bytes(b"\0" * 10)
    v = versions.register(repo, "dbl", folder)
    import pandas as pd

    assert load_model(repo, v).predict(pd.DataFrame({"a": [1, 2]})) == [2.0, 4.0]


@pytest.mark.parametrize("flavors, message", [
    ({}, "lists no flavors"),
    ({"keras": {"data": "x"}}, "neither a sklearn nor a python_function flavor"),
    ({"sklearn": {"pickled_model": "../outside.pkl"}}, "leaves the model folder"),
    ({"sklearn": {"pickled_model": "missing.pkl"}}, "does not exist"),
    ({"sklearn": {"pickled_model": "model.pkl", "serialization_format": "skops"}}, "skops"),
    ({"python_function": {"loader_module": "mlflow.pytorch", "data": "model.pkl"}}, "needs MLflow itself"),
    ({"python_function": {"loader_module": "no_such_loader_xyz", "data": "model.pkl"}}, "no_such_loader_xyz"),
])
def test_bad_mlmodel_folders(repo, tmp_path, model_files, flavors, message):
    folder = write_mlmodel(tmp_path / "bad", flavors)
    (folder / "model.pkl").write_bytes((model_files / "good.pkl").read_bytes())
    with pytest.raises(UsageError, match=message):
        versions.register(repo, "m", folder)
    assert versions.list_models(repo) == []


def test_malformed_mlmodel_yaml_and_tensor_signature(repo, tmp_path, model_files):
    folder = write_mlmodel(tmp_path / "m", {"sklearn": {"pickled_model": "model.pkl"}})
    (folder / "model.pkl").write_bytes((model_files / "numpy.pkl").read_bytes())
    (folder / "MLmodel").write_text("flavors: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        versions.register(repo, "m", folder)
    write_mlmodel(folder, {"sklearn": {"pickled_model": "model.pkl"}},
                  signature={"inputs": [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]})
    v = versions.register(repo, "m", folder)
    assert v.signature is None and any("tensor" in n for n in v.notes)


def test_symlink_in_folder_is_refused(repo, mlflow_sklearn, tmp_path):
    (tmp_path / "secret").write_text("x")
    (mlflow_sklearn / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UsageError, match="symbolic link"):
        versions.register(repo, "churn", mlflow_sklearn)
