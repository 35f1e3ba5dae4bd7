"""Loading verifies the artifact hash first and loads only from the store."""

from __future__ import annotations

import os

import pytest

from mlctl.errors import CorruptObjectError, ObjectMissingError, UsageError
from mlctl.registry import versions
from mlctl.registry.api import load_model
from tests.factories import damage_object, pickle_bytes


def test_load_by_spec_and_version(repo, model_files, data_files):
    v = versions.register(repo, "churn", model_files / "good.joblib")
    import pandas as pd

    frame = pd.read_csv(data_files / "example.csv")
    for ref in ("churn", "churn:1", v):
        model = load_model(repo, ref)
        assert model.version.spec == "churn:1" and model.classes_ == ["no", "yes"]
        assert len(model.predict(frame)) == 20
        assert model.predict_proba(frame).shape == (20, 2)


def test_generic_pickle_has_predict_but_no_proba(repo, model_files):
    versions.register(repo, "const", model_files / "constant.pkl")
    model = load_model(repo, "const")
    assert model.predict([1, 2, 3]) == ["yes"] * 3
    assert not hasattr(model, "predict_proba")


def test_corrupt_artifact_is_refused_before_unpickling(repo, model_files):
    v = versions.register(repo, "churn", model_files / "good.pkl")
    damage_object(repo, v.artifact_hash)
    with pytest.raises(CorruptObjectError) as err:
        load_model(repo, "churn")
    assert err.value.exit_code == 3


def test_missing_artifact_names_the_object(repo, model_files):
    v = versions.register(repo, "churn", model_files / "good.pkl")
    damage_object(repo, v.artifact_hash, "missing")
    with pytest.raises(ObjectMissingError, match=v.artifact_hash):
        load_model(repo, "churn")


def test_files_not_from_the_store_are_refused(repo, model_files):
    with pytest.raises(UsageError, match="not a registered model"):
        load_model(repo, str(model_files / "good.pkl"))
    with pytest.raises(UsageError, match="not a registered model"):
        load_model(repo, model_files / "good.pkl")


def test_folder_cache_is_reverified_and_rebuilt(repo, mlflow_sklearn):
    v = versions.register(repo, "churn", mlflow_sklearn)
    load_model(repo, v)
    cached = repo.cache_dir / "models" / v.artifact_hash / "model.pkl"
    assert cached.is_file()
    os.chmod(cached, 0o644)
    cached.write_bytes(b"tampered")
    model = load_model(repo, v)  # rebuilt from the verified store objects
    assert model.classes_ == ["no", "yes"]
    assert cached.read_bytes() == (mlflow_sklearn / "model.pkl").read_bytes()


def test_corrupt_folder_file_in_store(repo, mlflow_sklearn):
    from mlctl.registry.artifacts import read_manifest

    v = versions.register(repo, "churn", mlflow_sklearn)
    entry = next(e for e in read_manifest(repo, v.artifact_hash) if e.path == "model.pkl")
    damage_object(repo, entry.hash)
    with pytest.raises(CorruptObjectError):
        load_model(repo, v)


def test_unloadable_pickle_is_exit_2(repo, tmp_path):
    # well-formed, importable module, but the class is gone: only loading can tell

    (tmp_path / "m.pkl").write_bytes(pickle_bytes("tests.registry.fake_models", "Vanished"))
    versions.register(repo, "m", tmp_path / "m.pkl")
    with pytest.raises(UsageError, match="could not be loaded: AttributeError") as err:
        load_model(repo, "m")
    assert err.value.exit_code == 2
    with pytest.raises(UsageError, match="could not be loaded"):
        versions.register(repo, "m", tmp_path / "m.pkl", check=True)
