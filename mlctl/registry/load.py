"""Load a registered version (or a spec such as ``churn@production``) for prediction:
resolve it, verify its artifact, deserialise it (mlctl/registry/loading.py)."""

from __future__ import annotations

import os
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.registry import artifacts
from mlctl.registry.elsewhere import fetch_files
from mlctl.registry.loading import LoadedModel, build
from mlctl.registry.versions import ModelVersion, get_version
from mlctl.store.repo import Repo


def load_model(repo: Repo, version) -> LoadedModel:
    """Verify and load ``version`` (a ModelVersion or a spec such as ``churn@production``)."""
    if isinstance(version, (Path, os.PathLike)) or (isinstance(version, str) and _looks_like_file(version)):
        raise UsageError(f"{version} is a file, not a registered model: mlctl loads models only from its store",
                         hint=f"register it first: mlctl model register NAME {version}")
    if not isinstance(version, ModelVersion):
        version = get_version(repo, version)
    artifact = version.artifact
    fetch_files(repo, artifact, f"{version.name}:{version.version}")
    if artifact.get("kind") == "dir":
        folder = artifacts.materialize(repo, artifact)
        raw, call, context = build(version.flavor, version.format, version.mlflow, None, folder, version.spec)
    else:
        data = artifacts.read_file_bytes(repo, artifact)
        raw, call, context = build(version.flavor, version.format, None, lambda: data, None, version.spec)
    return LoadedModel(raw, call, context, version=version, signature=version.signature, task=version.task)


def _looks_like_file(text: str) -> bool:
    return (os.sep in text or text.endswith((".pkl", ".pickle", ".joblib"))) and os.path.exists(text)
