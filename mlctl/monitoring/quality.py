"""Model quality where labels are present: accuracy and f1 for classification, mae and rmse
for regression, on each side that has both the target and the prediction."""

from __future__ import annotations

import math

from mlctl.monitoring.columns import category_key

MAX_CLASSES = 20       # a numeric target with at most this many values is a class label
POSITIVE = ("1", "true", "yes")


def task_of(target_values: list) -> str:
    distinct = {v for v in target_values if v is not None}
    if any(isinstance(v, (str, bool)) for v in distinct):
        return "classification"
    integral = all(float(v).is_integer() for v in distinct)
    return "classification" if integral and len(distinct) <= MAX_CLASSES else "regression"


def metrics(task: str, target: list, prediction: list) -> dict | None:
    pairs = [(t, p) for t, p in zip(target, prediction) if _present(t) and _present(p)]
    if not pairs:
        return None
    if task == "classification":
        return _classification([category_key(t) for t, _ in pairs], [category_key(p) for _, p in pairs])
    try:
        return _regression([float(t) for t, _ in pairs], [float(p) for _, p in pairs])
    except (TypeError, ValueError):
        return None


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _classification(target: list[str], prediction: list[str]) -> dict:
    import numpy as np

    t, p = np.asarray(target, dtype=object), np.asarray(prediction, dtype=object)
    labels = sorted(set(target) | set(prediction))
    accuracy = float(np.mean(t == p))
    positive = [label for label in labels if label.lower() in POSITIVE]
    if len(labels) <= 2 and positive:
        f1, average = _f1(t, p, positive[0]), f"binary (positive class {positive[0]!r})"
    else:
        f1, average = sum(_f1(t, p, label) for label in labels) / len(labels), "macro"
    return {"rows": len(t), "accuracy": accuracy, "f1": f1, "f1_average": average}


def _f1(t, p, label) -> float:
    import numpy as np

    is_t, is_p = t == label, p == label
    tp = int(np.sum(is_t & is_p))
    wrong = int(np.sum(is_t ^ is_p))  # false positives + false negatives
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 1.0


def _regression(target: list[float], prediction: list[float]) -> dict:
    import numpy as np

    errors = np.asarray(prediction, float) - np.asarray(target, float)
    return {"rows": len(errors), "mae": float(np.mean(np.abs(errors))),
            "rmse": float(np.sqrt(np.mean(errors ** 2)))}


def compare(reference: dict | None, current: dict | None, task: str) -> dict:
    """Both sides' metrics and current minus reference for each metric."""
    names = ("accuracy", "f1") if task == "classification" else ("mae", "rmse")
    delta = {}
    for name in names:
        if reference and current:
            delta[name] = current[name] - reference[name]
    return {"task": task, "reference": reference, "current": current, "delta": delta,
            "metrics": list(names)}
