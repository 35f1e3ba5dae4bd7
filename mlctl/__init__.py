"""mlctl: one git-style toolchain for the whole machine-learning lifecycle.

The Python API is the same core the CLI calls. Names are resolved lazily so that
``import mlctl`` stays as cheap as the CLI's startup.
"""

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access.
_LAZY_API = {
    "start_run": "mlctl.tracking.api",
    "active_run": "mlctl.tracking.api",
    "autolog": "mlctl.tracking.autolog",
}


def __getattr__(name):
    module_name = _LAZY_API.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mlctl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
