"""What an autologged scikit-learn ``fit`` records (the patching is in autolog.py).

Only the outermost fit is recorded: a Pipeline's steps and a search's candidate fits run
inside it and are part of it (as in MLflow). The run is the active one, or one started for
this fit and ended with it (``failed`` when fit raised). Recorded, with MLflow's names:

- params: ``get_params(deep=True)`` (nested estimators as text); tags ``estimator_name``,
  ``estimator_class``;
- metrics on the training data: ``training_score`` and, for classifiers,
  ``training_accuracy_score``, ``training_precision_score``, ``training_recall_score``,
  ``training_f1_score`` (weighted averages), ``training_log_loss``, ``training_roc_auc``
  (with predict_proba); for regressors ``training_mean_squared_error``,
  ``training_root_mean_squared_error``, ``training_mean_absolute_error``,
  ``training_r2_score``;
- artifacts ``model/model.pkl`` (the fitted estimator, pickled) and
  ``model/signature.json`` (inputs and output type, the registry's signature format);
- for GridSearchCV / RandomizedSearchCV: ``best_<param>`` params, ``best_cv_score``, and one
  child run per candidate (its params, and its row of ``cv_results_`` as metrics).

Logging never breaks training: a failure to record is a warning, and fit's own result
(or exception) is what the caller gets.
"""

from __future__ import annotations

import contextvars
import os
import pickle
import tempfile
import warnings
from pathlib import Path

_inside_fit: contextvars.ContextVar[bool] = contextvars.ContextVar("mlctl_autolog_fit", default=False)
MAX_PARAM_TEXT = 250


def logged_fit(original, estimator, args: tuple, kwargs: dict, settings: dict):
    if _inside_fit.get():
        return original(estimator, *args, **kwargs)
    token = _inside_fit.set(True)
    try:
        return _outermost_fit(original, estimator, args, kwargs, settings)
    finally:
        _inside_fit.reset(token)


def unlogged(original, args: tuple, kwargs: dict):
    """Run ``original`` (cross_val_score ...) with its fits not recorded."""
    token = _inside_fit.set(True)
    try:
        return original(*args, **kwargs)
    finally:
        _inside_fit.reset(token)


def _outermost_fit(original, estimator, args, kwargs, settings):
    from mlctl.tracking.api import active_run

    run, owned = active_run(), False
    if run is None:
        run = _warn_on_failure("start a run", _start_run, settings)
        owned = run is not None
    try:
        result = original(estimator, *args, **kwargs)
    except BaseException as exc:
        if owned:
            from mlctl.tracking.session import status_for

            _warn_on_failure("end the run", run.end, status_for(type(exc), exc))
        raise
    if run is not None:
        _warn_on_failure("record the fit", _record, run, estimator, args, kwargs, settings)
        if owned:
            _warn_on_failure("end the run", run.end)
    return result


def _start_run(settings):
    from mlctl.tracking.api import start_run

    return start_run(experiment=settings.get("experiment"))


def _warn_on_failure(what: str, func, *args):
    try:
        return func(*args)
    except Exception as exc:  # training goes on whatever happens to the record
        message = getattr(exc, "message", None) or str(exc)
        warnings.warn(f"mlctl autolog could not {what}: {message}", stacklevel=4)
        return None


def _record(run, estimator, args, kwargs, settings) -> None:
    X, y = _fit_data(args, kwargs)
    run.set_tags({"estimator_name": type(estimator).__name__,
                  "estimator_class": f"{type(estimator).__module__}.{type(estimator).__name__}"})
    run.log_params(param_texts(estimator.get_params(deep=True)))
    if X is not None and y is not None:
        run.log_metrics(training_metrics(estimator, X, y, kwargs.get("sample_weight")))
    if hasattr(estimator, "cv_results_"):
        _record_search(run, estimator, settings.get("max_tuning_runs"))
    if settings.get("log_models", True):
        _log_model(run, estimator, X)


def _fit_data(args: tuple, kwargs: dict):
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    return X, y


def param_texts(params: dict) -> dict:
    """Params as scalars; an estimator or other object as (truncated) text."""
    out = {}
    for key, value in params.items():
        if hasattr(value, "item") and callable(value.item) and not isinstance(value, (list, tuple, dict)):
            try:
                value = value.item()
            except (ValueError, TypeError):
                pass
        if not (value is None or isinstance(value, (str, bool, int, float))):
            value = str(value)
        if isinstance(value, str) and len(value) > MAX_PARAM_TEXT:
            value = value[:MAX_PARAM_TEXT - 3] + "..."
        out[key] = value
    return out


def training_metrics(estimator, X, y, sample_weight=None) -> dict:
    from sklearn.base import is_classifier, is_regressor

    metrics = {}
    score = _try(lambda: estimator.score(X, y, sample_weight=sample_weight) if sample_weight is not None
                 else estimator.score(X, y))
    if score is not None:
        metrics["training_score"] = score
    if is_classifier(estimator):
        metrics.update(_classifier_metrics(estimator, X, y, sample_weight))
    elif is_regressor(estimator):
        metrics.update(_regressor_metrics(estimator, X, y, sample_weight))
    return {k: float(v) for k, v in metrics.items() if v is not None}


def _classifier_metrics(estimator, X, y, w) -> dict:
    from sklearn import metrics as m

    predicted = estimator.predict(X)
    out = {"training_accuracy_score": _try(lambda: m.accuracy_score(y, predicted, sample_weight=w))}
    for name, func in (("precision", m.precision_score), ("recall", m.recall_score), ("f1", m.f1_score)):
        out[f"training_{name}_score"] = _try(lambda f=func: f(y, predicted, average="weighted", sample_weight=w,
                                                              zero_division=0))
    if hasattr(estimator, "predict_proba"):
        proba = _try(lambda: estimator.predict_proba(X))
        if proba is not None:
            labels = getattr(estimator, "classes_", None)
            out["training_log_loss"] = _try(lambda: m.log_loss(y, proba, sample_weight=w, labels=labels))
            out["training_roc_auc"] = _try(lambda: _roc_auc(y, proba, w, labels))
    return out


def _roc_auc(y, proba, w, labels):
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return roc_auc_score(y, proba[:, 1], sample_weight=w)
    return roc_auc_score(y, proba, multi_class="ovr", average="weighted", sample_weight=w, labels=labels)


def _regressor_metrics(estimator, X, y, w) -> dict:
    import math

    from sklearn import metrics as m

    predicted = estimator.predict(X)
    mse = _try(lambda: m.mean_squared_error(y, predicted, sample_weight=w))
    return {"training_mean_squared_error": mse,
            "training_root_mean_squared_error": None if mse is None else math.sqrt(mse),
            "training_mean_absolute_error": _try(lambda: m.mean_absolute_error(y, predicted, sample_weight=w)),
            "training_r2_score": _try(lambda: m.r2_score(y, predicted, sample_weight=w))}


def _try(func):
    """A metric that does not apply (one class in y, multi-output ...) is left out."""
    try:
        return func()
    except Exception:
        return None


def _record_search(run, search, max_runs: int | None) -> None:
    """Best params and score on the parent; one child run per candidate, best first."""
    if getattr(search, "best_params_", None) is not None:
        run.log_params(param_texts({f"best_{k}": v for k, v in search.best_params_.items()}))
    if getattr(search, "best_score_", None) is not None:
        run.log_metric("best_cv_score", float(search.best_score_))
    from mlctl.tracking.api import start_run

    results = search.cv_results_
    order = sorted(range(len(results["params"])), key=lambda i: _rank(results, i))
    for i in order[:max_runs] if max_runs is not None else order:
        with start_run(repo=run.repo, tags={"estimator_name": type(search.estimator).__name__,
                                            "candidate": str(i)}) as child:
            child.log_params(param_texts(results["params"][i]))
            child.log_metrics(_candidate_metrics(results, i))


def _rank(results: dict, i: int):
    ranks = [k for k in results if k.startswith("rank_test_")]
    return tuple(int(results[k][i]) for k in sorted(ranks)) or (i,)


def _candidate_metrics(results: dict, i: int) -> dict:
    import math

    out = {}
    for key, column in results.items():
        if key == "params" or key.startswith("param_"):
            continue
        try:
            value = float(column[i])
        except (TypeError, ValueError):
            continue
        if not math.isnan(value):
            out[key] = value
    return out


def _log_model(run, estimator, X) -> None:
    import json

    with tempfile.TemporaryDirectory(prefix="mlctl-autolog-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        with open(folder / "model.pkl", "wb") as f:
            pickle.dump(estimator, f, protocol=pickle.HIGHEST_PROTOCOL)
        signature = infer_signature(estimator, X)
        if signature is not None:
            (folder / "signature.json").write_text(json.dumps(signature, indent=1) + os.linesep)
        run.log_artifact(folder, name="model")


def infer_signature(estimator, X) -> dict | None:
    """Input columns and types from the training X (a DataFrame's columns, else ``x0``...
    as scikit-learn names unnamed features), the output type from the classes."""
    if X is None:
        return None
    inputs = _frame_inputs(X) if hasattr(X, "dtypes") and hasattr(X, "columns") else _array_inputs(X)
    if inputs is None:
        return None
    out = _output_type(estimator)
    return {"inputs": inputs, "output": {"type": out} if out else None, "source": "autolog"}


def _frame_inputs(frame) -> list[dict]:
    nulls = frame.isna().any()
    return [{"name": str(name), "type": _dtype_type(dtype), **({"nullable": True} if nulls[name] else {})}
            for name, dtype in frame.dtypes.items()]


def _array_inputs(X) -> list[dict] | None:
    import numpy as np

    try:
        arr = np.asarray(X)
    except Exception:
        return None
    if arr.ndim != 2:
        return None
    kind = _dtype_type(arr.dtype)
    has_nan = arr.dtype.kind == "f" and bool(np.isnan(arr).any(axis=0).any())
    nan_cols = np.isnan(arr).any(axis=0) if has_nan else [False] * arr.shape[1]
    return [{"name": f"x{j}", "type": kind, **({"nullable": True} if nan_cols[j] else {})}
            for j in range(arr.shape[1])]


def _dtype_type(dtype) -> str:
    """A numpy/pandas dtype -> MLflow's column type name."""
    name = str(dtype).lower()
    table = (("bool", "boolean"), ("int64", "long"), ("uint", "long"), ("int", "integer"),
             ("float32", "float"), ("float", "double"), ("datetime", "datetime"),
             ("object", "string"), ("string", "string"), ("category", "string"), ("str", "string"))
    return next((kind for prefix, kind in table if name.startswith(prefix)), "any")


def _output_type(estimator) -> str | None:
    from sklearn.base import is_classifier, is_regressor

    if is_regressor(estimator):
        return "double"
    classes = getattr(estimator, "classes_", None) if is_classifier(estimator) else None
    if classes is None:
        return None
    kinds = {type(c.item() if hasattr(c, "item") else c) for c in classes}
    for allowed, kind in (({bool}, "boolean"), ({int, bool}, "long"), ({int, float}, "double"), ({str}, "string")):
        if kinds <= allowed:
            return kind
    return "any"
