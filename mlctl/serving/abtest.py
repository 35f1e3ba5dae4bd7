"""A/B figures from live traffic: the prediction log joined to labels that arrived later.

``compare_versions`` is the core that `mlctl monitor performance` (retraining) builds on:
the labels (a CSV or parquet file, or a DataFrame) hold ``request_id`` (and ``instance``
when requests carried several rows) and the target column; each logged prediction that
has a label is scored, per model version and role, so a canary can be compared with the
primary on the same live traffic. Shadow rows are scored too: they answered nobody, but
their labels are just as real.
"""

from __future__ import annotations

from pathlib import Path

from mlctl.errors import UsageError


def compare_versions(repo, model: str, labels, target: str, since=None) -> dict:
    """{"task", "labelled", "unlabelled", "versions": [{version, role, rows, labelled, metrics}]}."""
    from mlctl.predlog.api import read_predictions

    log = read_predictions(repo, model, since=since)
    truth = _labels_frame(labels, target)
    keys = ["request_id", "instance"] if "instance" in truth.columns else ["request_id"]
    if truth.duplicated(keys).any():
        raise UsageError(f"the labels repeat a {' + '.join(keys)}; give one label per prediction")
    log["request_id"] = log["request_id"].astype(str)
    truth["request_id"] = truth["request_id"].astype(str)
    joined = log.merge(truth[keys + [target]].rename(columns={target: "_label"}), on=keys, how="left")
    task = _task(joined["_label"].dropna())
    groups = []
    for (version, role), part in joined.groupby(["version", "role"], sort=True):
        scored = part.dropna(subset=["_label"])
        groups.append({"version": int(version), "role": role, "rows": int(len(part)),
                       "labelled": int(len(scored)), "metrics": _metrics(scored, task)})
    labelled = int(joined["_label"].notna().sum())
    return {"model": model, "task": task, "labelled": labelled, "unlabelled": int(len(joined) - labelled),
            "versions": groups}


def _labels_frame(labels, target: str):
    import pandas as pd

    if isinstance(labels, (str, Path)):
        path = Path(labels)
        if not path.is_file():
            raise UsageError(f"{labels}: no such labels file")
        try:
            frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
        except (ValueError, OSError) as exc:
            raise UsageError(f"{labels} is not a readable CSV or parquet file: {exc}") from None
    else:
        frame = labels.copy()
    for column in ("request_id", target):
        if column not in frame.columns:
            raise UsageError(f"the labels have no column {column!r} (they have: {', '.join(map(str, frame.columns))})")
    return frame


def _task(labels) -> str:
    """Regression when labels are non-integral numbers, else classification."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels):
        values = labels.to_numpy(dtype=float)
        if len(values) and not np.all(values == np.round(values)):
            return "regression"
    return "classification"


def _metrics(scored, task: str) -> dict:
    import numpy as np

    if scored.empty:
        return {}
    truth, pred = scored["_label"], scored["prediction"]
    if task == "regression":
        err = pred.to_numpy(dtype=float) - truth.to_numpy(dtype=float)
        return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2)))}
    same = truth.astype(str).to_numpy() == pred.astype(str).to_numpy()
    numeric = truth.map(_as_number) == pred.map(_as_number)  # 1 == 1.0 across dtypes
    return {"accuracy": float(np.mean(same | numeric.to_numpy()))}


def _as_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
