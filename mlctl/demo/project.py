"""Write the example project: a breast-cancer classifier built from data shipped with
scikit-learn (no network), with params, a pipeline, features and a retraining policy."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mlctl.errors import UsageError

TEMPLATE = Path(__file__).with_name("template")
MARKER = ".mlctl-demo"
TARGET = "malignant"


def prepare_dir(path: Path, force: bool) -> None:
    """An empty (or new) folder; a previous demo is replaced only with --force."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise UsageError(f"{path} exists and is not empty", hint="pass --force, or choose another folder")
        if (path / MARKER).is_file():
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("created by `mlctl demo`; `mlctl demo --force` may replace this folder\n")


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def patients_frame():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=snake)
    frame[TARGET] = (frame.pop("target") == 0).astype(int)  # sklearn codes malignant as 0
    return frame


def write_project(path: Path) -> dict:
    """Copy the template and write the data files; returns facts the runner narrates."""
    for src in TEMPLATE.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            dest = path / src.relative_to(TEMPLATE)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    frame = patients_frame()
    raw = path / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    frame.to_csv(raw / "patients.csv", index=False)
    write_vitals(frame, raw / "vitals.parquet")
    (path / ".gitignore").write_text("__pycache__/\n*.html\n*.png\n")
    return {"rows": len(frame), "columns": frame.shape[1] - 1}


def write_vitals(frame, dest: Path) -> None:
    """Feature rows with event timestamps: three readings per patient, a day apart."""
    import pandas as pd

    base = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(days=3)
    parts = []
    for day in range(3):
        part = frame[["mean_radius", "mean_texture", "mean_smoothness"]].copy() * (1 + 0.01 * day)
        part.insert(0, "patient_id", range(len(frame)))
        part.insert(1, "event_timestamp", base + pd.Timedelta(days=day))
        parts.append(part)
    pd.concat(parts, ignore_index=True).to_parquet(dest, index=False)


def drifted_batch(frame, rows: int = 200, seed: int = 3, labelled: bool = False):
    """Patients from a shifted population: larger, rougher tumours. With ``labelled`` the
    diagnosis comes along (new training data); without, it is serving traffic."""
    sample = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for col in sample.columns:
        if col.startswith(("mean_", "worst_")):
            sample[col] = sample[col] * 1.35
    return sample if labelled else sample.drop(columns=[TARGET])
