"""Loaded models ready to serve (a ModelSlot each: primary, canary, shadow) and the
provider that resolves references and loads verified artifacts from the registry.

A slot is immutable once built: hot reload builds a new slot and swaps the reference, so
a request that picked the old slot finishes on the old model.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from mlctl.errors import UsageError
from mlctl.serving.spec import ModelRef


@dataclass
class ModelSlot:
    name: str
    version: int
    role: str  # primary | canary | shadow
    model: Any
    columns: Any  # inputs.Columns
    mode: str  # "array": float64 ndarray; "frame": pandas DataFrame
    alias: str | None = None
    artifact_hash: str | None = None
    flavor: str | None = None
    signature: dict | None = None
    loaded_at: float = 0.0
    extra: dict = field(default_factory=dict)

    def prepare(self, rows: list[list], plain: bool = False):
        """``plain``: see inputs.to_array."""
        from mlctl.serving.inputs import to_array, to_frame

        return to_array(rows, self.columns, plain) if self.mode == "array" else to_frame(rows, self.columns)

    def predict(self, X):
        """The model on X -> a 1-d or 2-d numpy array with one entry per row."""
        import numpy as np

        out = self.model.predict(X)
        if hasattr(out, "to_numpy"):
            out = out.to_numpy()
        out = np.asarray(out)
        if out.ndim == 0 or len(out) != len(X):
            raise ValueError(f"the model returned {out.shape} for {len(X)} rows")
        return out

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "alias": self.alias, "role": self.role,
                "artifact_hash": self.artifact_hash, "flavor": self.flavor, "input_mode": self.mode,
                "inputs": self.columns.to_json(),
                "signature": self.signature}


def quiet_model_warnings() -> None:
    """sklearn warns on every call when a model fitted on a DataFrame gets an array; the
    array is built in the fitted column order, so the warning says nothing here."""
    warnings.filterwarnings("ignore", message=".*does not have valid feature names.*")
    warnings.filterwarnings("ignore", message=".*was fitted with feature names.*")


NATIVE_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_native_threads() -> None:
    """One BLAS/OpenMP thread per worker: workers are the parallelism, and forking a
    process whose OpenMP pool already ran is unsafe. The user's own setting wins."""
    for var in NATIVE_THREAD_VARS:
        os.environ.setdefault(var, "1")


def choose_mode(model: Any, columns, flavor: str | None) -> str:
    """Array when every input is numeric and the model takes an array (probed on zeros)."""
    if not columns.numeric or flavor == "mlflow":
        return "frame"
    import numpy as np

    try:
        out = model.predict(np.zeros((2, len(columns.names))))
        return "array" if len(out) == 2 else "frame"
    except Exception:  # the model wants names (a ColumnTransformer by name, a pyfunc...)
        return "frame"


def build_slot(model: Any, info: dict, role: str, loaded_at: float, raw: Any = None) -> ModelSlot:
    """``model`` answers predict(X); ``raw`` (default: model) is the fitted object whose
    ``feature_names_in_`` gives the column order the model was fitted with."""
    from mlctl.serving.checks import model_accepts_nan
    from mlctl.serving.inputs import Columns

    fitted = model if raw is None else raw
    names = getattr(fitted, "feature_names_in_", None)
    order = [str(n) for n in names] if names is not None else None
    try:
        columns = Columns.from_signature(info.get("signature"), order, accepts_nan=model_accepts_nan(fitted))
    except ValueError as exc:
        raise UsageError(f"cannot serve {info['name']}:{info['version']}: {exc}",
                         hint="register it again with --example DATA so it has a signature") from None
    return ModelSlot(
        name=info["name"], version=int(info["version"]), role=role, model=model, columns=columns,
        mode=choose_mode(model, columns, info.get("flavor")), alias=info.get("alias"),
        artifact_hash=info.get("artifact_hash"), flavor=info.get("flavor"),
        signature=info.get("signature"), loaded_at=loaded_at,
    )


def check_compatible(primary: ModelSlot, other: ModelSlot) -> None:
    """Canary and shadow get the primary's validated input: their columns must agree."""
    if set(other.columns.names) - set(primary.columns.names):
        missing = sorted(set(other.columns.names) - set(primary.columns.names))
        raise UsageError(f"{other.role} {other.name}:{other.version} needs column(s) "
                         f"{', '.join(missing)} that {primary.name}:{primary.version} does not take")


def reorder_for(primary: ModelSlot, other: ModelSlot, X):
    """The primary's prepared input rearranged for another slot's column order."""
    if other.columns.names == primary.columns.names and other.mode == primary.mode:
        return X
    if primary.mode == "frame":
        frame = X[other.columns.names]
        return frame.to_numpy(dtype="float64") if other.mode == "array" else frame
    idx = [primary.columns.index[n] for n in other.columns.names]
    sub = X[:, idx]
    if other.mode == "frame":
        import pandas as pd

        return pd.DataFrame(sub, columns=other.columns.names)
    return sub


class RegistryProvider:
    """Resolves NAME@ALIAS / NAME:VERSION through the registry and loads hash-verified models."""

    def __init__(self, repo):
        self.repo = repo

    def resolve(self, ref: ModelRef) -> dict:
        from mlctl.registry.api import get_version

        mv = get_version(self.repo, str(ref))
        return {"name": mv.name, "version": int(mv.version), "artifact_hash": mv.artifact_hash,
                "flavor": mv.flavor, "signature": mv.signature, "alias": ref.alias, "_mv": mv}

    def load(self, info: dict, role: str) -> ModelSlot:
        import time

        from mlctl.registry.api import load_model

        loaded = load_model(self.repo, info["_mv"])
        return build_slot(loaded, info, role, time.time(), raw=loaded.raw)

    def alias_stamp(self, ref: ModelRef):
        """A cheap fingerprint of where the alias points: one stat() of the ref that moves
        it (the aliases ref; the versions index for NAME@latest), or one query on the
        backend (registry/index.py)."""
        from mlctl.registry.api import LATEST, alias_stamp

        return alias_stamp(self.repo, ref.name, latest=ref.alias == LATEST)
