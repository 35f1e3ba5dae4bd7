"""mlctl.autolog() for scikit-learn: what a fit records, searches, disabling, laziness."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

import mlctl
from mlctl.tracking.runs import list_runs
from tests.conftest import PROJECT


@pytest.fixture
def autologging(repo):
    mlctl.autolog()
    yield repo
    mlctl.autolog(disable=True)


def iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True, as_frame=True)


def runs(repo):
    return sorted(list_runs(repo), key=lambda r: r.id)


def test_a_classifier_pipeline_fit_is_a_run_with_params_metrics_model_and_signature(autologging):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=300)).fit(X, y)
    [run] = runs(autologging)  # the steps' own fits are part of the pipeline's run
    assert run.status == "finished" and run.tags["estimator_class"] == "sklearn.pipeline.Pipeline"
    assert run.params["logisticregression__C"] == 0.5 and run.params["standardscaler"] == "StandardScaler()"
    assert set(run.metrics) == {"training_score", "training_accuracy_score", "training_precision_score",
                                "training_recall_score", "training_f1_score", "training_log_loss", "training_roc_auc"}
    assert run.metrics["training_accuracy_score"] == pytest.approx(model.score(X, y))
    assert set(run.artifacts) == {"model/model.pkl", "model/signature.json"}
    restored = pickle.loads(autologging.objects.get_bytes(run.artifacts["model/model.pkl"]))
    assert (restored.predict(X) == model.predict(X)).all()
    signature = json.loads(autologging.objects.get_bytes(run.artifacts["model/signature.json"]))
    assert signature["inputs"][0] == {"name": "sepal length (cm)", "type": "double"}
    assert len(signature["inputs"]) == 4 and signature["output"] == {"type": "long"}


def test_a_regressor_on_arrays_inside_an_active_run_logs_into_it(autologging):
    import numpy as np
    from sklearn.linear_model import Ridge

    X = np.random.default_rng(0).normal(size=(50, 3))
    y = X @ [1.0, 2.0, 3.0]
    with mlctl.start_run(experiment="reg", params={"mine": 1}) as outer:
        Ridge(alpha=0.1).fit(X, y)
    [run] = runs(autologging)
    assert run.id == outer.id and run.experiment == "reg" and run.params["mine"] == 1 and run.params["alpha"] == 0.1
    assert {"training_mean_squared_error", "training_root_mean_squared_error", "training_mean_absolute_error",
            "training_r2_score", "training_score"} <= set(run.metrics)
    assert run.metrics["training_r2_score"] > 0.99
    signature = json.loads(autologging.objects.get_bytes(run.artifacts["model/signature.json"]))
    assert [c["name"] for c in signature["inputs"]] == ["x0", "x1", "x2"] and signature["output"] == {"type": "double"}


@pytest.mark.parametrize("search, cap, children", [("grid", 5, 3), ("grid", 2, 2), ("random", None, 4)])
def test_a_search_gets_one_child_run_per_candidate(repo, search, cap, children):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    mlctl.autolog(max_tuning_runs=cap)
    try:
        X, y = iris()
        base = LogisticRegression(max_iter=300)
        if search == "grid":
            fitted = GridSearchCV(base, {"C": [0.01, 1.0, 10.0]}, cv=3).fit(X, y)
        else:
            fitted = RandomizedSearchCV(base, {"C": [0.01, 0.1, 1.0, 10.0]}, n_iter=4, cv=3, random_state=0).fit(X, y)
    finally:
        mlctl.autolog(disable=True)
    all_runs = runs(repo)
    [parent] = [r for r in all_runs if r.parent_id is None]
    kids = [r for r in all_runs if r.parent_id == parent.id]
    assert len(kids) == children == len(all_runs) - 1
    assert parent.params["best_C"] == fitted.best_params_["C"]
    assert parent.metrics["best_cv_score"] == pytest.approx(fitted.best_score_)
    best = min(kids, key=lambda r: r.metrics["rank_test_score"])
    assert best.metrics["mean_test_score"] == pytest.approx(fitted.best_score_)
    assert all(set(k.params) == {"C"} and "split0_test_score" in k.metrics for k in kids)
    ranks = sorted(k.metrics["rank_test_score"] for k in kids)
    assert ranks == sorted(fitted.cv_results_["rank_test_score"])[:children]  # the best ones kept


def test_a_failing_fit_is_a_failed_run_and_the_error_reaches_the_caller(autologging):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError):
        LogisticRegression().fit([[1.0], [2.0]], [0, 0])  # one class only
    [run] = runs(autologging)
    assert run.status == "failed"


def test_disable_puts_the_original_fit_back(repo):
    from sklearn.linear_model import LogisticRegression

    from sklearn import model_selection

    original, helper = LogisticRegression.fit, model_selection.cross_val_score
    mlctl.autolog()
    assert LogisticRegression.fit is not original and model_selection.cross_val_score is not helper
    mlctl.autolog(disable=True)
    assert LogisticRegression.fit is original and model_selection.cross_val_score is helper
    assert not any(type(f).__name__ == "_SklearnImportHook" for f in sys.meta_path)
    X, y = iris()
    LogisticRegression(max_iter=300).fit(X, y)
    assert runs(repo) == []


def test_outside_a_repository_fit_still_works_with_a_warning(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    monkeypatch.chdir(tmp_path)
    mlctl.autolog()
    try:
        X, y = iris()
        with pytest.warns(UserWarning, match="mlctl autolog could not start a run"):
            model = LogisticRegression(max_iter=300).fit(X, y)
    finally:
        mlctl.autolog(disable=True)
    assert model.score(X, y) > 0.9


def test_sklearn_is_imported_only_by_the_program_and_then_patched(repo):
    """autolog() before sklearn is imported: the import hook patches classes as they load."""
    script = textwrap.dedent("""
        import sys
        import mlctl
        mlctl.autolog()
        assert "sklearn" not in sys.modules, "autolog imported sklearn"
        from sklearn.tree import DecisionTreeClassifier
        DecisionTreeClassifier(max_depth=2).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        from sklearn.datasets import load_iris   # package data still loads through the hook
        load_iris()
        import sklearn.model_selection           # patched as it loads, restored on disable
        assert getattr(sklearn.model_selection.cross_val_score, "_mlctl_autolog", False)
        mlctl.autolog(disable=True)
        for module in (sklearn.model_selection, sklearn.model_selection._validation):
            assert not hasattr(module.cross_val_score, "_mlctl_autolog"), module
        assert not hasattr(DecisionTreeClassifier.fit, "_mlctl_autolog")
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=repo.root, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    [run] = runs(repo)
    assert run.params["max_depth"] == 2 and run.metrics["training_accuracy_score"] == 1.0
    assert run.tags["estimator_name"] == "DecisionTreeClassifier" and "model/model.pkl" in run.artifacts


def test_fit_transform_and_fit_predict_are_fits_too(autologging):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    X, _y = iris()
    PCA(n_components=2).fit_transform(X)  # PCA defines fit_transform without calling fit
    KMeans(n_clusters=3, n_init=1, random_state=0).fit_predict(X)  # fit_predict calls fit: one run
    first, second = runs(autologging)
    assert first.tags["estimator_name"] == "PCA" and first.params["n_components"] == 2
    assert second.tags["estimator_name"] == "KMeans" and second.params["n_clusters"] == 3
    assert "model/model.pkl" in second.artifacts


def test_cross_validation_helpers_record_no_runs(autologging):
    from sklearn import model_selection
    from sklearn.linear_model import LogisticRegression

    X, y = iris()
    scores = model_selection.cross_val_score(LogisticRegression(max_iter=300), X, y, cv=3)
    assert len(scores) == 3 and runs(autologging) == []  # as MLflow: an evaluation, not 3 models
    LogisticRegression(max_iter=300).fit(X, y)
    assert len(runs(autologging)) == 1


def test_under_run_log_the_fit_logs_into_the_wrapped_run(repo, tmp_path):
    from tests.conftest import run_mlctl

    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import mlctl
        mlctl.autolog()
        from sklearn.tree import DecisionTreeRegressor
        DecisionTreeRegressor(max_depth=3).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 4.0])
    """))
    proc = run_mlctl("run", "log", "-e", "wrapped", "--id-file", tmp_path / "id", "--", sys.executable, script,
                     cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    [run] = runs(repo)
    assert run.id == (tmp_path / "id").read_text().strip() and run.experiment == "wrapped"
    assert run.params["max_depth"] == 3 and run.metrics["training_r2_score"] == 1.0
