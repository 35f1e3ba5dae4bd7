"""``mlctl.autolog()``: record every scikit-learn ``fit`` as a run, without importing
scikit-learn until the program does.

How the patching stays lazy: ``autolog()`` patches the estimator classes of the sklearn
modules already imported, and puts an import hook in ``sys.meta_path`` that patches the
classes of every sklearn module imported afterwards, right after it runs. So ``import
mlctl; mlctl.autolog()`` imports nothing heavy, and a class is patched whenever its module
is loaded, before or after the call. Patching wraps the ``fit``, ``fit_transform`` and
``fit_predict`` that a class defines itself (as MLflow's autolog does); ``autolog(disable=True)`` puts every original back and
removes the hook. What a patched fit records is in autolog_sklearn.py.
"""

from __future__ import annotations

import functools
import importlib.abc
import sys
import threading

FIT_METHODS = ("fit", "fit_transform", "fit_predict")  # as MLflow patches them
# model-selection helpers whose many fits are an evaluation, not models to record (as in MLflow)
UNLOGGED_HELPERS = ("cross_validate", "cross_val_predict", "cross_val_score", "learning_curve",
                    "permutation_test_score", "validation_curve")
_patched: dict[tuple[object, str], object] = {}  # (class or module, name) -> the original function
_lock = threading.RLock()
settings: dict = {}


def autolog(disable: bool = False, log_models: bool = True, max_tuning_runs: int | None = 5,
            experiment: str | None = None) -> None:
    """Record scikit-learn fits as runs: estimator params, training metrics, the fitted
    model (``model/model.pkl``) and its signature (``model/signature.json``); a
    GridSearchCV/RandomizedSearchCV fit also gets one child run per candidate (the best
    ``max_tuning_runs`` by rank; None for all). A fit inside an active run logs into it;
    otherwise each outermost fit is a run of its own (in ``experiment``)."""
    with _lock:
        if disable:
            _uninstall()
            return
        if max_tuning_runs is not None and max_tuning_runs < 0:
            from mlctl.errors import UsageError

            raise UsageError(f"max_tuning_runs must be >= 0 or None, not {max_tuning_runs!r}")
        settings.update(log_models=log_models, max_tuning_runs=max_tuning_runs, experiment=experiment)
        if not any(isinstance(f, _SklearnImportHook) for f in sys.meta_path):
            sys.meta_path.insert(0, _SklearnImportHook())
        for name, module in list(sys.modules.items()):
            if _is_sklearn(name) and module is not None:
                patch_module(module)


def is_enabled() -> bool:
    return any(isinstance(f, _SklearnImportHook) for f in sys.meta_path)


def _uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _SklearnImportHook)]
    for (cls, method), original in list(_patched.items()):
        setattr(cls, method, original)
    _patched.clear()


def _is_sklearn(name: str) -> bool:
    return name == "sklearn" or name.startswith("sklearn.")


def patch_module(module) -> None:
    """Wrap the fit methods of every estimator class this module defines."""
    base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
    if base is None:  # sklearn.base is still loading: no estimator is defined yet
        return
    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == module.__name__ and issubclass(value, base):
            for method in FIT_METHODS:
                _patch(value, method)
    if module.__name__.startswith("sklearn.model_selection"):
        for name in UNLOGGED_HELPERS:
            _patch_helper(module, name)


def _patch(cls: type, method: str) -> None:
    original = cls.__dict__.get(method)
    if original is None or getattr(original, "_mlctl_autolog", False) or not callable(original):
        return
    from mlctl.tracking import autolog_sklearn

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        return autolog_sklearn.logged_fit(original, self, args, kwargs, settings)

    fit._mlctl_autolog = True
    _patched[(cls, method)] = original
    setattr(cls, method, fit)


def _patch_helper(module, name: str) -> None:
    """``cross_val_score`` and friends run without recording their fits."""
    original = vars(module).get(name)
    if getattr(original, "_mlctl_autolog", False):
        # re-exported wrapper (``from ._validation import cross_val_score`` ran after
        # _validation was patched): remember it too, so that disabling restores it here
        _patched.setdefault((module, name), original.__wrapped__)
        return
    if original is None or not callable(original):
        return
    from mlctl.tracking import autolog_sklearn

    @functools.wraps(original)
    def helper(*args, **kwargs):
        return autolog_sklearn.unlogged(original, args, kwargs)

    helper._mlctl_autolog = True
    _patched[(module, name)] = original
    setattr(module, name, helper)


class _SklearnImportHook(importlib.abc.MetaPathFinder):
    """Finds sklearn modules through the other finders and wraps their loader, so the
    module's estimator classes are patched as soon as it has run."""

    def find_spec(self, name, path, target=None):
        if not _is_sklearn(name):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        with _lock:
            if is_enabled():
                patch_module(module)

    def __getattr__(self, name):  # resource readers, get_source, is_package ...
        return getattr(self._loader, name)
