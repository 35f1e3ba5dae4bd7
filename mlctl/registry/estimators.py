"""What an inertly unpickled estimator says about itself: class, task, features, classes.

Works on the stand-ins of ``pickles.py``: a scikit-learn estimator pickles its fitted
attributes (``feature_names_in_``, ``n_features_in_``, ``classes_``, ``_sklearn_version``)
in its state dict, so these are readable without importing scikit-learn. Pipelines and
searches are followed to the step that holds each fact.
"""

from __future__ import annotations

import re

from mlctl.registry.pickles import Stub

_REGRESSOR = re.compile(r"(Regressor|Regression|^Ridge|^Lasso|^ElasticNet|^Lars|^LassoLars|SVR$|"
                        r"^OrthogonalMatchingPursuit|^BayesianRidge|^ARDRegression|^TheilSen|^RANSAC|^Huber|^TweedieRegressor)")
_CLASSIFIER = re.compile(r"(Classifier|^LogisticRegression|^SVC$|^NuSVC$|^LinearSVC$|^GaussianNB$|^MultinomialNB$|"
                         r"^BernoulliNB$|^ComplementNB$|^CategoricalNB$|DiscriminantAnalysis$|^Perceptron$)")
_MAX_CLASSES = 10_000


def class_path(obj) -> str:
    cls = type(obj)
    if isinstance(obj, Stub):
        return cls.class_path()
    return f"{cls.__module__}.{cls.__qualname__}"


def state_of(obj) -> dict:
    state = obj._state if isinstance(obj, Stub) else getattr(obj, "__dict__", None)
    if isinstance(state, tuple) and len(state) == 2:  # (state, slotstate)
        merged = dict(state[0] or {}) if isinstance(state[0], dict) else {}
        merged.update(state[1] or {} if isinstance(state[1], dict) else {})
        return merged
    return state if isinstance(state, dict) else {}


def _inner(obj, first: bool):
    """The estimator a wrapper delegates to: a pipeline's first/last step, a search's best."""
    state = state_of(obj)
    steps = state.get("steps")
    if isinstance(steps, list) and steps:
        step = steps[0] if first else steps[-1]
        if isinstance(step, tuple) and len(step) >= 2 and step[1] not in (None, "passthrough"):
            return step[1]
    for key in ("best_estimator_", "estimator_", "regressor_", "calibrated_classifiers_"):
        inner = state.get(key)
        if inner is not None and not isinstance(inner, (list, str, int, float)):
            return inner
    return None


def _walk(obj, first: bool, key: str):
    seen = 0
    while obj is not None and seen < 20:
        value = state_of(obj).get(key)
        if value is not None:
            return value, obj
        obj, seen = _inner(obj, first), seen + 1
    return None, None


def _as_list(value) -> list | None:
    if value is None or isinstance(value, Stub):
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return list(value)
    return None


def describe(obj) -> dict:
    """model_class, task, classes, feature_names, n_features, library_version."""
    names, _ = _walk(obj, True, "feature_names_in_")
    n_features, _ = _walk(obj, True, "n_features_in_")
    classes, holder = _walk(obj, False, "classes_")
    classes = _as_list(classes)
    final = _final(obj)
    return {
        "model_class": class_path(obj),
        "task": _task(final, classes),
        "classes": classes if classes is not None and len(classes) <= _MAX_CLASSES else None,
        "feature_names": [str(n) for n in _as_list(names)] if _as_list(names) else None,
        "n_features": int(n_features) if isinstance(n_features, int) or hasattr(n_features, "__index__") else None,
        "library_version": state_of(obj).get("_sklearn_version") if isinstance(state_of(obj).get("_sklearn_version"), str) else None,
    }


def _final(obj):
    seen = 0
    while seen < 20:
        inner = _inner(obj, first=False)
        if inner is None or isinstance(inner, list):
            return obj
        obj, seen = inner, seen + 1
    return obj


def _task(final, classes) -> str | None:
    if classes is not None:
        return "classification"
    name = class_path(final).rsplit(".", 1)[-1]
    if _CLASSIFIER.search(name):
        return "classification"
    if _REGRESSOR.search(name):
        return "regression"
    return None


def output_type(classes: list | None, task: str | None) -> str | None:
    """The signature's output type from what the estimator predicts."""
    if task == "regression":
        return "double"
    if not classes:
        return None
    kinds = {type(c) for c in classes}
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int, bool}:
        return "long"
    if kinds <= {float, int}:
        return "double"
    if kinds <= {str}:
        return "string"
    return "any"
