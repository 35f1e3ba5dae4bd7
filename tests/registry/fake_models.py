"""Importable model classes for tests (a pickled class must live in an importable module)."""

from __future__ import annotations


class ConstantModel:
    """A generic 'pickle' flavor model: predicts one value for every row."""

    def __init__(self, value):
        self.value = value

    def predict(self, frame):
        return [self.value] * len(frame)


class NoPredict:
    def __init__(self):
        self.x = 1


class ContextModel:
    """Shaped like an MLflow PythonModel: predict(context, model_input)."""

    def load_context(self, context):
        with open(context.artifacts["offset"]) as f:
            self.offset = float(f.read())

    def predict(self, context, model_input, params=None):
        return [float(v) + self.offset for v in model_input["a"]]


class _Doubler:
    def predict(self, frame):
        return [2 * float(v) for v in frame["a"]]


def _load_pyfunc(path):
    """An MLflow loader_module entry point."""
    return _Doubler()
