"""Flavors: what kind of model an artifact is, found without running it.

- ``sklearn``: a pickle or joblib file holding a scikit-learn (API) estimator;
- ``pickle``: any other pickled Python object with ``predict``;
- ``mlflow``: an MLflow model folder (``MLmodel`` with a ``sklearn`` or ``python_function``
  flavor), so MLflow users can bring their models over.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mlctl.errors import UsageError
from mlctl.registry import estimators
from mlctl.registry.pickles import NotAPickle, inspect_file

FLAVORS = ("sklearn", "pickle", "mlflow")
MLMODEL = "MLmodel"


@dataclass
class ArtifactInfo:
    flavor: str
    format: str                       # pickle | joblib (of the model file itself)
    model_class: str | None = None
    task: str | None = None           # classification | regression | None (unknown)
    classes: list | None = None
    feature_names: list[str] | None = None
    n_features: int | None = None
    library_version: str | None = None
    packages: list[str] = field(default_factory=list)
    mlflow: dict | None = None        # how to load the folder: see loading.py
    signature: dict | None = None     # from MLmodel, when it has a column signature
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("signature", "notes")}


def detect(path: Path, flavor: str | None = None) -> ArtifactInfo:
    """Describe the artifact at ``path``; refuse what cannot be loaded (exit 2)."""
    if flavor is not None and flavor not in FLAVORS:
        raise UsageError(f"unknown flavor {flavor!r}", hint=f"use one of {', '.join(FLAVORS)}")
    if path.is_dir():
        if flavor not in (None, "mlflow"):
            raise UsageError(f"{path} is a folder; only the mlflow flavor is a folder (with an MLmodel file)")
        return _detect_mlflow(path)
    if flavor == "mlflow":
        raise UsageError(f"{path} is a file; the mlflow flavor is a folder holding an MLmodel file")
    info = _inspect_pickle(path, path.name)
    if flavor is None:
        flavor = "sklearn" if info.library_version or info.model_class.startswith("sklearn.") else "pickle"
    info.flavor = flavor
    return info


def _inspect_pickle(path: Path, shown: str) -> ArtifactInfo:
    try:
        inspected = inspect_file(path)
    except NotAPickle as exc:
        raise UsageError(f"{shown} is not a loadable pickle or joblib file: {exc}") from None
    _check_modules(inspected.modules, shown)
    desc = estimators.describe(inspected.obj)
    return ArtifactInfo(flavor="pickle", format=inspected.format, packages=_roots(inspected.modules), **desc)


def _roots(modules: set[str]) -> list[str]:
    return sorted({m.split(".", 1)[0] for m in modules})


def _check_modules(modules: set[str], shown: str) -> None:
    main = sorted(m for m in modules if m == "__main__" or m.startswith("__main__."))
    if main:
        raise UsageError(
            f"{shown} refers to classes defined in the training script (__main__), which no other "
            "process can load",
            hint="define the model class in an importable module and pickle it again",
        )
    missing = [root for root in _roots(modules) if importlib.util.find_spec(root) is None]
    if missing:
        raise UsageError(
            f"{shown} needs the Python package(s) {', '.join(missing)}, which are not installed here",
            hint="install them where mlctl runs, then register again",
        )


# -- MLflow model folders ------------------------------------------------------------------
def _detect_mlflow(folder: Path) -> ArtifactInfo:
    spec = read_mlmodel(folder)
    flavors = spec.get("flavors") or {}
    if not isinstance(flavors, dict) or not flavors:
        raise UsageError(f"{folder}/{MLMODEL} lists no flavors")
    loader = _mlflow_loader(folder, flavors)
    if loader["kind"] in ("sklearn", "python_model"):
        shown = f"{folder.name}/{loader['path']}"
        info = _inspect_pickle(folder / loader["path"], shown)
    else:
        _check_modules({loader["module"]}, f"{folder.name}/{MLMODEL}")
        info = ArtifactInfo(flavor="mlflow", format="mlflow", packages=[loader["module"].split(".")[0]])
    info.flavor = "mlflow"
    info.mlflow = loader
    sk_version = (flavors.get("sklearn") or {}).get("sklearn_version")
    info.library_version = info.library_version or sk_version
    info.signature, note = mlflow_signature(spec.get("signature"))
    if note:
        info.notes.append(note)
    return info


def read_mlmodel(folder: Path) -> dict:
    import yaml

    path = folder / MLMODEL
    if not path.is_file():
        raise UsageError(f"{folder} has no {MLMODEL} file", hint="a model folder must be an MLflow model (mlflow.<flavor>.save_model)")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"{folder.name}/{MLMODEL} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(spec, dict):
        raise UsageError(f"{folder.name}/{MLMODEL} must be a YAML map")
    return spec


def _mlflow_loader(folder: Path, flavors: dict) -> dict:
    """How to load this folder: the sklearn pickle, a pyfunc python_model, or a loader module."""
    sk = flavors.get("sklearn")
    pyfunc = flavors.get("python_function") or {}
    if isinstance(sk, dict) and sk.get("pickled_model"):
        return _sklearn_loader(folder, sk["pickled_model"], sk.get("serialization_format", "cloudpickle"))
    if not isinstance(pyfunc, dict) or not pyfunc:
        raise UsageError(f"{folder.name}/{MLMODEL} has neither a sklearn nor a python_function flavor",
                         hint=f"flavors found: {', '.join(map(str, flavors))}")
    module = pyfunc.get("loader_module")
    code = _inside(folder, pyfunc["code"], "code") if pyfunc.get("code") else None
    if module == "mlflow.sklearn":
        return _sklearn_loader(folder, pyfunc.get("model_path") or pyfunc.get("data") or "model.pkl", "cloudpickle")
    if pyfunc.get("python_model"):
        artifacts = {k: _inside(folder, (v or {}).get("path", ""), f"artifact {k}")
                     for k, v in (pyfunc.get("artifacts") or {}).items()}
        return {"kind": "python_model", "path": _inside(folder, pyfunc["python_model"], "python_model"),
                "artifacts": artifacts, "model_config": pyfunc.get("model_config") or {}, "code": code}
    if not module or not isinstance(module, str):
        raise UsageError(f"{folder.name}/{MLMODEL}: python_function has no loader_module or python_model")
    if module.startswith("mlflow."):
        raise UsageError(f"{folder.name}/{MLMODEL}: loader {module} needs MLflow itself",
                         hint="save the model with mlflow.sklearn, or as a python_model")
    data = _inside(folder, pyfunc.get("data") or ".", "data") if pyfunc.get("data") else None
    return {"kind": "loader_module", "module": module, "data": data, "code": code}


def _sklearn_loader(folder: Path, rel: str, serialization: str) -> dict:
    if serialization not in ("pickle", "cloudpickle"):
        raise UsageError(f"{folder.name}/{MLMODEL}: serialization_format {serialization!r} is not supported",
                         hint="save with serialization_format='cloudpickle' or 'pickle'")
    return {"kind": "sklearn", "path": _inside(folder, rel, "pickled_model")}


def _inside(folder: Path, rel: str, what: str) -> str:
    """A path named in MLmodel must stay inside the folder (and exist)."""
    pure = PurePosixPath(str(rel))
    if pure.is_absolute() or ".." in pure.parts:
        raise UsageError(f"{folder.name}/{MLMODEL}: {what} path {rel!r} leaves the model folder")
    if not os.path.exists(folder / pure):
        raise UsageError(f"{folder.name}/{MLMODEL}: {what} {rel!r} does not exist in the folder")
    return pure.as_posix()


def mlflow_signature(raw) -> tuple[dict | None, str | None]:
    """MLmodel's ``signature`` (JSON strings of column specs) -> our signature."""
    if not raw:
        return None, None
    try:
        inputs = json.loads(raw["inputs"]) if isinstance(raw.get("inputs"), str) else raw.get("inputs")
        outputs = json.loads(raw["outputs"]) if isinstance(raw.get("outputs"), str) else raw.get("outputs")
    except (ValueError, TypeError, AttributeError):
        return None, "MLmodel's signature is not valid JSON; ignored"
    if not isinstance(inputs, list) or any(not isinstance(c, dict) or "name" not in c for c in inputs):
        return None, "MLmodel's signature is not column-based (tensor or unnamed); ignored"
    cols = [{"name": str(c["name"]), "type": str(c.get("type", "any"))} for c in inputs]
    out = outputs[0] if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) else {}
    output = {"type": str(out["type"])} if out.get("type") and out.get("type") != "tensor" else None
    return {"inputs": cols, "output": output, "source": "mlflow"}, None
