"""Late labels joined to the prediction log, and the live metrics computed from them.

The labels file (CSV or parquet) holds ``request_id`` and the target column, and
optionally ``instance`` (the row's position in a request that sent several rows). Without
``instance``, a label names a whole request, so it joins only requests that predicted one
row; labels of multi-row requests are counted as ambiguous, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlctl.errors import UsageError

KEY = "request_id"
INSTANCE = "instance"


@dataclass
class Joined:
    frame: object            # predictions with a ``label`` column: the labelled rows
    labels: int              # rows in the labels file
    unmatched: int           # labels whose request is not in the (windowed) log
    ambiguous: int           # labels of multi-row requests without an instance column

    @property
    def matched(self) -> int:
        """Labels that found their prediction (a shadow row repeats a request: counted once)."""
        return int(self.frame[[KEY, INSTANCE]].drop_duplicates().shape[0])


def read_labels(path, target: str):
    from mlctl.registry.api import read_frame

    frame = read_frame(path)
    missing = [c for c in (KEY, target) if c not in frame.columns]
    if missing:
        cols = ", ".join(map(str, list(frame.columns)[:12]))
        raise UsageError(f"{path}: no column {' or '.join(map(repr, missing))} (it needs {KEY!r} and the target "
                         f"{target!r})", hint=f"columns: {cols}")
    keys = [KEY, INSTANCE] if INSTANCE in frame.columns else [KEY]
    out = frame[keys + [target]].rename(columns={target: "label"}).copy()
    out[KEY] = out[KEY].astype(str)
    if INSTANCE in out.columns:
        out[INSTANCE] = _whole_numbers(out[INSTANCE], path)
    duplicated = out.duplicated(keys)
    if duplicated.any():
        first = out.loc[duplicated, KEY].iloc[0]
        raise UsageError(f"{path}: request {first} is labelled more than once"
                         + ("" if INSTANCE in out.columns else f" (add an {INSTANCE!r} column for multi-row requests)"))
    return out.dropna(subset=["label"])


def _whole_numbers(series, path):
    import pandas as pd

    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.isna().any() or (numbers % 1 != 0).any():
        raise UsageError(f"{path}: column {INSTANCE!r} must hold whole numbers (a row's position in its request)")
    return numbers.astype("int64")


def join(predictions, labels) -> Joined:
    """Labelled prediction rows (every role, shadow included; callers pick)."""
    preds = predictions.copy()
    preds[KEY] = preds[KEY].astype(str)
    preds[INSTANCE] = preds[INSTANCE].astype("int64")
    if INSTANCE in labels.columns:
        merged = preds.merge(labels, on=[KEY, INSTANCE], how="inner")
        ambiguous = 0
    else:
        rows_per_request = preds[preds["role"] != "shadow"].groupby(KEY)[INSTANCE].nunique()
        multi = set(rows_per_request[rows_per_request > 1].index)
        ambiguous = int(labels[KEY].isin(multi).sum())
        merged = preds[~preds[KEY].isin(multi)].merge(labels, on=KEY, how="inner")
    known = set(preds[KEY])
    unmatched = int((~labels[KEY].isin(known)).sum())
    return Joined(merged, len(labels), unmatched, ambiguous)


# -- metrics --------------------------------------------------------------------------------
def task_of(version, labels) -> str:
    if version is not None and version.task in ("classification", "regression"):
        return version.task
    from mlctl.monitoring.api import task_of as guess

    return guess(list(labels))


def positive_class(version):
    """The class f1 is about for a two-class model: the second of its classes, as the
    registry scores it."""
    classes = (version.classes or []) if version is not None else []
    return classes[1] if len(classes) == 2 else None


def live_metrics(task: str, labels, predictions, positive=None) -> dict:
    """accuracy and f1 (classification), rmse, mae and r2 (regression) of predictions
    against labels; rows where either is missing are left out."""
    pairs = [(t, p) for t, p in zip(labels, predictions) if _present(t) and _present(p)]
    if not pairs:
        return {}
    if task == "regression":
        return _regression(pairs)
    return _classification(pairs, positive)


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def key(value) -> str:
    """Labels and predictions compared as category keys: 1, 1.0 and "1" are one class."""
    from mlctl.monitoring.api import category_key

    if hasattr(value, "item"):
        value = value.item()
    return category_key(value)


def _classification(pairs, positive) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    y = [key(t) for t, _ in pairs]
    p = [key(v) for _, v in pairs]
    labels = sorted(set(y) | set(p))
    out = {"accuracy": float(accuracy_score(y, p))}
    pos = key(positive) if positive is not None else (labels[-1] if labels else None)
    if len(labels) <= 2 and pos in labels:
        out["f1"] = float(f1_score(y, p, pos_label=pos, labels=labels, zero_division=0))
    else:
        out["f1"] = float(f1_score(y, p, average="macro", labels=labels, zero_division=0))
    return out


def _regression(pairs) -> dict:
    import numpy as np
    from sklearn.metrics import r2_score

    try:
        y = np.asarray([float(t) for t, _ in pairs])
        p = np.asarray([float(v) for _, v in pairs])
    except (TypeError, ValueError):
        raise UsageError("labels or predictions are not numbers, but the model is a regression") from None
    errors = p - y
    return {"rmse": float(np.sqrt(np.mean(errors ** 2))), "mae": float(np.mean(np.abs(errors))),
            "r2": float(r2_score(y, p)) if len(y) > 1 else float("nan")}
