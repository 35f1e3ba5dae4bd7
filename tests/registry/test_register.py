"""register: versions, flavors, signatures, artifacts in the store, and every bad input."""

from __future__ import annotations

import shutil

import pytest

from mlctl.errors import NotFoundError, UsageError
from mlctl.registry import signatures, versions
from tests.factories import pickle_bytes
from tests.registry.util import lose_record, objects, refs_snapshot


def test_versions_are_numbered_per_model_and_immutable(repo, model_files):
    v1 = versions.register(repo, "churn", model_files / "good.pkl")
    v2 = versions.register(repo, "churn", model_files / "weak.pkl")
    other = versions.register(repo, "prices", model_files / "reg.pkl")
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    assert versions.get_version(repo, "churn").version == 2
    assert versions.get_version(repo, "churn:1").artifact_hash == v1.artifact_hash
    assert versions.get_version(repo, "churn:v1").record_hash == v1.record_hash
    assert versions.get_version(repo, "churn@latest").version == 2
    # the artifact is in the store, byte for byte
    assert repo.objects.get_bytes(v1.artifact_hash) == (model_files / "good.pkl").read_bytes()
    assert v1.artifact["kind"] == "file" and v1.artifact["filename"] == "good.pkl"
    assert [m.name for m in versions.list_models(repo)] == ["churn", "prices"]
    assert [v.version for v in versions.list_versions(repo, "churn")] == [1, 2]


def test_sklearn_flavor_is_detected_without_importing_the_model(repo, model_files):
    v = versions.register(repo, "churn", model_files / "good.pkl")
    assert v.flavor == "sklearn" and v.format == "pickle"
    assert v.model_class == "sklearn.pipeline.Pipeline"
    assert v.task == "classification" and v.classes == ["no", "yes"]
    assert v.library_version
    j = versions.register(repo, "churn", model_files / "good_z.joblib")
    assert j.flavor == "sklearn" and j.format == "joblib" and j.classes == ["no", "yes"]
    r = versions.register(repo, "prices", model_files / "reg.pkl")
    assert r.task == "regression"
    g = versions.register(repo, "const", model_files / "constant.pkl")
    assert g.flavor == "pickle" and g.model_class == "tests.registry.fake_models.ConstantModel"
    forced = versions.register(repo, "const", model_files / "good.pkl", flavor="pickle")
    assert forced.flavor == "pickle"


def test_signature_from_example_csv_and_parquet(repo, model_files, data_files):
    v = versions.register(repo, "churn", model_files / "good.pkl", example=data_files / "example.csv")
    assert v.signature == {"inputs": [{"name": "tenure", "type": "long"}, {"name": "charges", "type": "double"},
                                      {"name": "calls", "type": "long"}],
                           "output": {"type": "string"}, "source": "example"}
    # extra columns (the label) are not inputs: the model names its features
    p = versions.register(repo, "churn", model_files / "good.pkl", example=data_files / "holdout.parquet")
    assert [c["name"] for c in p.signature["inputs"]] == ["tenure", "charges", "calls"]
    assert p.signature["inputs"][0]["type"] == "long"


def test_signature_marks_the_columns_where_the_data_had_gaps_nullable(repo, model_files, data_files, tmp_path):
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(data_files / "example.csv")
    frame.loc[3, "charges"] = np.nan
    frame.to_csv(tmp_path / "gappy.csv", index=False)
    frame.to_parquet(tmp_path / "gappy.parquet")
    for example in (tmp_path / "gappy.csv", tmp_path / "gappy.parquet"):
        v = versions.register(repo, "churn", model_files / "good.pkl", example=example)
        nullable = {c["name"]: c.get("nullable", False) for c in v.signature["inputs"]}
        assert nullable == {"tenure": False, "charges": True, "calls": False}, example
        assert "charges:double?" in signatures.describe(v.signature) and "tenure:long," in signatures.describe(v.signature)


def test_signature_for_a_model_fitted_on_numpy_needs_the_target(repo, model_files, data_files):
    with pytest.raises(UsageError, match="4 input columns but the model takes 3") as err:
        versions.register(repo, "churn", model_files / "numpy.pkl", example=data_files / "holdout.csv")
    assert "--target" in err.value.hint
    v = versions.register(repo, "churn", model_files / "numpy.pkl", example=data_files / "holdout.csv", target="churned")
    assert [c["name"] for c in v.signature["inputs"]] == ["tenure", "charges", "calls"]
    assert v.signature["output"] == {"type": "string"}


def test_signature_from_the_model_alone_has_names_but_no_types(repo, model_files):
    v = versions.register(repo, "churn", model_files / "good.pkl")
    assert v.signature["source"] == "model"
    assert v.signature["inputs"] == [{"name": n, "type": "any"} for n in ("tenure", "charges", "calls")]
    n = versions.register(repo, "churn", model_files / "numpy.pkl")
    assert n.signature is None and any("--example" in note for note in n.notes)


def test_register_check_loads_and_predicts(repo, model_files, data_files):
    v = versions.register(repo, "churn", model_files / "good.pkl", example=data_files / "example.csv", check=True)
    assert v.version == 1
    with pytest.raises(UsageError, match="no predict"):
        versions.register(repo, "churn", model_files / "nopredict.pkl", check=True)


def test_folder_that_is_not_an_mlflow_model_is_refused(repo, tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    with pytest.raises(UsageError, match="no MLmodel file"):
        versions.register(repo, "m", folder)


@pytest.mark.parametrize("content, message", [
    (b"", "not a loadable pickle"),
    (b"hello, I am a text file\n", "not a loadable pickle"),
    (b"\x80\x04\x95\x10\x00\x00", "not a loadable pickle"),
    (pickle_bytes("__main__", "MyModel"), "training script"),
    (pickle_bytes("no_such_package_xyz.models", "Model"), "no_such_package_xyz"),
])
def test_bad_artifacts_are_exit_2_and_change_nothing(repo, model_files, tmp_path, content, message):
    versions.register(repo, "churn", model_files / "good.pkl")
    before, objs = refs_snapshot(repo), objects(repo)
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(content)
    with pytest.raises(UsageError, match=message) as err:
        versions.register(repo, "churn", bad)
    assert err.value.exit_code == 2
    assert refs_snapshot(repo) == before and objects(repo) == objs


def test_truncated_model_is_refused(repo, model_files, tmp_path):
    data = (model_files / "good.joblib").read_bytes()
    for cut in (len(data) // 3, len(data) - 1):
        (tmp_path / "t.joblib").write_bytes(data[:cut])
        with pytest.raises(UsageError, match="not a loadable pickle"):
            versions.register(repo, "churn", tmp_path / "t.joblib")
    assert versions.list_models(repo) == []


def test_bad_inputs(repo, model_files, data_files, tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        versions.register(repo, "churn", tmp_path / "missing.pkl")
    with pytest.raises(UsageError, match="invalid model name"):
        versions.register(repo, "bad/name", model_files / "good.pkl")
    with pytest.raises(UsageError, match="unknown flavor"):
        versions.register(repo, "churn", model_files / "good.pkl", flavor="onnx")
    with pytest.raises(UsageError, match="is a file; the mlflow flavor is a folder"):
        versions.register(repo, "churn", model_files / "good.pkl", flavor="mlflow")
    with pytest.raises(UsageError, match="lacks the model's input columns: calls"):
        shutil.copy(data_files / "example.csv", tmp_path / "ex.csv")
        import pandas as pd

        pd.read_csv(tmp_path / "ex.csv").drop(columns=["calls"]).to_csv(tmp_path / "ex.csv", index=False)
        versions.register(repo, "churn", model_files / "good.pkl", example=tmp_path / "ex.csv")
    with pytest.raises(UsageError, match="no column 'label'"):
        versions.register(repo, "churn", model_files / "good.pkl", example=data_files / "holdout.csv", target="label")
    with pytest.raises(UsageError, match="no such file"):
        versions.register(repo, "churn", model_files / "good.pkl", example=tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UsageError, match="has no header row"):
        versions.register(repo, "churn", model_files / "good.pkl", example=tmp_path / "empty.csv")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage\x81")
    with pytest.raises(UsageError, match="not a readable CSV"):
        versions.register(repo, "churn", model_files / "good.pkl", example=tmp_path / "binary.csv")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(UsageError, match="not a readable parquet"):
        versions.register(repo, "churn", model_files / "good.pkl", example=tmp_path / "broken.parquet")
    assert versions.list_models(repo) == []


def test_unknown_model_version_alias_are_not_found(repo, model_files):
    with pytest.raises(NotFoundError, match="no model named 'churn'"):
        versions.get_version(repo, "churn")
    versions.register(repo, "churn", model_files / "good.pkl")
    with pytest.raises(NotFoundError, match="no version 5") as err:
        versions.get_version(repo, "churn:5")
    assert err.value.exit_code == 2 and err.value.hint == "versions: 1"
    with pytest.raises(NotFoundError, match="no alias 'production'"):
        versions.get_version(repo, "churn@production")
    for bad in ("churn:0", "churn:x", "churn@", "churn@9lives", ":3", ""):
        with pytest.raises(UsageError):
            versions.get_version(repo, bad)


def test_delete_frees_the_number_for_nobody(repo, model_files):
    versions.register(repo, "churn", model_files / "good.pkl")
    versions.register(repo, "churn", model_files / "weak.pkl")
    versions.delete_version(repo, "churn:2")
    assert [v.version for v in versions.list_versions(repo, "churn")] == [1]
    assert versions.register(repo, "churn", model_files / "weak.pkl").version == 3
    with pytest.raises(NotFoundError):
        versions.delete_version(repo, "churn:2")
    with pytest.raises(UsageError, match="does not name a version"):
        versions.delete_version(repo, "churn")


def test_concurrent_registrations_get_distinct_numbers(repo, model_files):
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT

    script = ("import sys\nfrom mlctl.store.repo import find_repo\nfrom mlctl.registry import versions\n"
              "repo = find_repo()\nfor _ in range(3):\n    versions.register(repo, 'churn', sys.argv[1])\n")
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(model_files / name)], cwd=repo.root, env=env)
             for name in ("good.pkl", "weak.pkl", "reg.pkl", "constant.pkl")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    found = versions.list_versions(repo, "churn")
    assert [v.version for v in found] == list(range(1, 13))
    assert sorted(v.artifact["filename"] for v in found) == sorted(["good.pkl", "weak.pkl", "reg.pkl", "constant.pkl"] * 3)


def test_killed_registration_leaves_a_clean_store(repo, model_files):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import PROJECT, run_mlctl

    script = ("import sys\nfrom mlctl.store.repo import find_repo\nfrom mlctl.registry import versions\n"
              "repo = find_repo()\nwhile True:\n    versions.register(repo, 'churn', sys.argv[1])\n"
              "    print('registered', flush=True)\n")
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    for delay in (0.05, 0.1, 0.15):  # after the first registration: startup time differs by backend
        proc = subprocess.Popen([sys.executable, "-c", script, str(model_files / "good.joblib")], cwd=repo.root, env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "registered\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    numbers = [v.version for v in versions.list_versions(repo, "churn")]
    assert numbers == list(range(1, len(numbers) + 1))
    fsck = run_mlctl("fsck", "--json", cwd=repo.root)
    assert fsck.returncode == 0, fsck.stdout
    assert versions.register(repo, "churn", model_files / "weak.pkl").version == len(numbers) + 1


def test_a_version_with_a_missing_record_can_still_be_deleted(repo, model_files):
    v = versions.register(repo, "churn", model_files / "good.pkl")
    versions.register(repo, "churn", model_files / "weak.pkl")
    lose_record(repo, v.record_hash)
    with pytest.raises(Exception, match="not in the local store|missing from the backend"):
        versions.get_version(repo, "churn:1")
    assert versions.delete_version(repo, "churn:1").version == 1
    assert [x.version for x in versions.list_versions(repo, "churn")] == [2]


def test_registering_into_a_ray_task_scratch_repository_is_refused(repo, model_files, monkeypatch):
    """A model registered on a Ray worker would go into a store deleted with the task."""
    monkeypatch.setenv(versions.SCRATCH_ENV, str(repo.root))
    before = refs_snapshot(repo)
    with pytest.raises(UsageError, match="scratch folder"):
        versions.register(repo, "churn", model_files / "good.pkl")
    assert refs_snapshot(repo) == before
    monkeypatch.setenv(versions.SCRATCH_ENV, str(repo.root / "elsewhere"))
    assert versions.register(repo, "churn", model_files / "good.pkl").version == 1
