"""Scoring a loaded model on labelled data, for gates and ``--must-beat``.

Classification: accuracy, f1 (the positive class, i.e. the second of the model's classes,
for two classes; macro average otherwise), roc_auc (one-vs-rest macro for several classes)
and log_loss, the last two only when the model has ``predict_proba``.
Regression: rmse, mae, r2.
"""

from __future__ import annotations

import math
from pathlib import Path

from mlctl.errors import MlctlError, UsageError

CLASSIFICATION = ("accuracy", "f1", "roc_auc", "log_loss")
REGRESSION = ("rmse", "mae", "r2")
HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "r2": True,
                    "log_loss": False, "rmse": False, "mae": False}
PRIMARY = {"classification": "accuracy", "regression": "rmse"}


def read_frame(path: Path):
    """A CSV or parquet file as a DataFrame; unreadable input is exit 2."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a CSV or parquet file")
    try:
        with open(path, "rb") as f:
            parquet = f.read(4) == b"PAR1"
        if parquet or path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UsageError(f"{path} is not a readable CSV or parquet file: {str(exc).splitlines()[0]}") from None


def evaluate_model(model, frame, target: str, task: str | None = None) -> dict:
    """Metrics of ``model`` (a LoadedModel) on ``frame``, whose ``target`` column is the label."""
    if target not in frame.columns:
        cols = ", ".join(map(str, list(frame.columns)[:20]))
        raise UsageError(f"the evaluation data has no target column {target!r}", hint=f"columns: {cols}")
    if len(frame) == 0:
        raise UsageError("the evaluation data has no rows")
    features = model.select_inputs(frame, drop=[target])
    y = frame[target]
    if y.isna().any():
        raise UsageError(f"the target column {target!r} has {int(y.isna().sum())} missing values")
    task = task or getattr(model, "task", None) or _guess_task(model, y)
    try:
        y_pred = model.predict(features)
        if task == "regression":
            return _regression(y, y_pred)
        proba = model.predict_proba(features) if hasattr(model, "predict_proba") else None
        return _classification(y, y_pred, proba, model.classes_)
    except MlctlError:
        raise
    except Exception as exc:  # the model's own code failed on this data
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{model.name} failed on the evaluation data: {text[:300]}") from None


def _guess_task(model, y) -> str:
    if model.classes_ is not None or hasattr(model, "predict_proba"):
        return "classification"
    import pandas as pd

    if pd.api.types.is_float_dtype(y) and (y.round() != y).any():
        return "regression"
    return "regression" if pd.api.types.is_numeric_dtype(y) and y.nunique() > 20 else "classification"


def _regression(y, y_pred) -> dict:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {"rmse": math.sqrt(mean_squared_error(y, y_pred)), "mae": float(mean_absolute_error(y, y_pred)),
            "r2": float(r2_score(y, y_pred)) if len(y) > 1 else float("nan")}


def _classification(y, y_pred, proba, classes) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    labels = list(classes) if classes is not None else sorted(set(y) | set(y_pred), key=str)
    if classes is not None and not set(y.unique()) & set(labels):
        seen = ", ".join(map(str, list(y.unique())[:5]))
        raise UsageError(f"the target column holds {seen}, none of which is one of the model's classes "
                         f"({', '.join(map(str, labels[:5]))})")
    out = {"accuracy": float(accuracy_score(y, y_pred))}
    if len(labels) == 2:
        out["f1"] = float(f1_score(y, y_pred, pos_label=labels[1], labels=labels, zero_division=0))
    else:
        out["f1"] = float(f1_score(y, y_pred, average="macro", labels=labels, zero_division=0))
    if proba is not None and classes is not None:
        out.update(_probabilistic(y, proba, labels))
    return out


def _probabilistic(y, proba, labels) -> dict:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    proba = np.asarray(proba, dtype=float)
    out = {"log_loss": float(log_loss(y, proba, labels=labels))}
    present = set(y)
    if len(present) < 2:  # AUC is undefined with one class in the labels
        out["roc_auc"] = float("nan")
    elif len(labels) == 2:
        out["roc_auc"] = float(roc_auc_score(np.asarray(y) == labels[1], proba[:, 1]))
    elif present <= set(labels) and len(present) == len(labels):
        out["roc_auc"] = float(roc_auc_score(y, proba, multi_class="ovr", labels=labels))
    else:
        out["roc_auc"] = float("nan")
    return out


def better(metric: str, candidate: float, incumbent: float, min_delta: float = 0.0) -> bool:
    """Candidate at least as good as the incumbent (by ``min_delta`` when given)."""
    if any(isinstance(v, float) and math.isnan(v) for v in (candidate, incumbent)):
        return False
    if HIGHER_IS_BETTER.get(metric, True):
        return candidate >= incumbent + min_delta
    return candidate <= incumbent - min_delta
