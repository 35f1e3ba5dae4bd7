"""Loading a registered model for evaluation or serving.

Only models from the store are loaded, and only after their bytes are verified against the
artifact hash: a file artifact is read into memory and hashed there (nothing can change it
between the check and the unpickling); a folder is materialised and every file re-hashed.
A path to a file is refused: register it first.

Unpickling runs code chosen by whoever wrote the file. Register only models you trust;
the hash check guarantees you load exactly what was registered, not that it is harmless.
"""

from __future__ import annotations

import importlib
import inspect
import io
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

from mlctl.errors import MlctlError, UsageError


class LoadedModel:
    """A registered model ready to predict: ``predict(frame)``, and ``predict_proba(frame)``
    when the model has it. ``raw`` is the underlying object."""

    def __init__(self, raw, call: str, context=None, version=None, signature=None, task=None):
        self.raw, self._call, self._context = raw, call, context
        self.version, self.signature, self.task = version, signature, task
        if call == "direct" and callable(getattr(raw, "predict_proba", None)):
            self.predict_proba = self._predict_proba
        classes = getattr(raw, "classes_", None)
        self.classes_ = list(classes) if classes is not None else None

    @property
    def name(self) -> str:
        return self.version.spec if self.version is not None else "model"

    def input_columns(self) -> list[str] | None:
        return [c["name"] for c in self.signature["inputs"]] if self.signature else None

    def select_inputs(self, frame, drop=()):
        """The signature's columns in order (naming any that are missing), else all but ``drop``."""
        wanted = self.input_columns()
        if wanted is None:
            return frame.drop(columns=[c for c in drop if c in frame.columns])
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise UsageError(f"the data lacks {self.name}'s input columns: {', '.join(missing[:10])}"
                             + (f" ... ({len(missing)} in all)" if len(missing) > 10 else ""))
        return frame[wanted]

    def predict(self, frame):
        if self._call == "context":
            return self.raw.predict(self._context, frame)
        return self.raw.predict(frame)

    def _predict_proba(self, frame):
        return self.raw.predict_proba(frame)


def smoke_test(path: Path, info, signature, example) -> None:
    """`register --check`: load the artifact for real and predict on a few example rows."""
    if path.is_dir():
        raw, call, context = build(info.flavor, info.format, info.mlflow, None, path, path.name)
    else:
        raw, call, context = build(info.flavor, info.format, None, path.read_bytes, None, path.name)
    model = LoadedModel(raw, call, context, signature=signature, task=info.task)
    if example is None:
        return
    from mlctl.registry.evaluation import read_frame

    frame = read_frame(Path(example)).head(5)
    try:
        model.predict(model.select_inputs(frame))
    except MlctlError:
        raise
    except Exception as exc:
        raise UsageError(f"{path.name} failed to predict on {example}: {_short(exc)}") from None


# -- deserialising ---------------------------------------------------------------------------
def build(flavor, fmt, mlflow, read_bytes, folder, shown):
    try:
        if flavor == "mlflow":
            return _build_mlflow(mlflow or {}, folder, shown)
        raw = _unpickle(read_bytes(), fmt)
    except MlctlError:
        raise
    except Exception as exc:  # unpickling can raise anything: it runs the file's code
        raise UsageError(f"{shown} could not be loaded: {_short(exc)}") from None
    _require_predict(raw, shown)
    return raw, "direct", None


def _unpickle(data: bytes, fmt: str):
    if fmt == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    return pickle.loads(data)


def _build_mlflow(loader: dict, folder: Path, shown: str):
    kind = loader.get("kind")
    if loader.get("code"):
        _add_code_path(folder / loader["code"])
    if kind == "sklearn":
        raw = _unpickle((folder / loader["path"]).read_bytes(), "pickle")
        _require_predict(raw, shown)
        return raw, "direct", None
    if kind == "python_model":
        raw = pickle.loads((folder / loader["path"]).read_bytes())
        context = SimpleNamespace(artifacts={k: str(folder / v) for k, v in loader.get("artifacts", {}).items()},
                                  model_config=loader.get("model_config") or {})
        if callable(getattr(raw, "load_context", None)):
            raw.load_context(context)
        _require_predict(raw, shown)
        return raw, ("context" if _takes_context(raw.predict) else "direct"), context
    if kind == "loader_module":
        module = importlib.import_module(loader["module"])
        raw = module._load_pyfunc(str(folder / loader["data"]) if loader.get("data") else str(folder))
        _require_predict(raw, shown)
        return raw, "direct", None
    raise UsageError(f"{shown}: unknown MLflow loader {kind!r}")


def _takes_context(predict) -> bool:
    """MLflow PythonModel.predict(context, model_input[, params]) vs predict(model_input)."""
    try:
        params = [p for p in inspect.signature(predict).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return True
    return len(params) >= 2 and params[0].name != "model_input"


def _add_code_path(path: Path) -> None:
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def _require_predict(raw, shown: str) -> None:
    if not callable(getattr(raw, "predict", None)):
        raise UsageError(f"{shown} holds a {type(raw).__module__}.{type(raw).__qualname__}, which has no predict()")


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
