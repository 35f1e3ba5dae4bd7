"""mlctl: one git-style toolchain for the whole machine-learning lifecycle.

The Python API is the same core the CLI calls. Names are resolved lazily so that
``import mlctl`` stays as cheap as the CLI's startup.
"""

from mlctl import lazyapi

__version__ = "0.1.0"

# name -> module that defines it (mlctl/lazyapi.py); imported on first attribute access.
EXPORTS = {
    "start_run": "tracking.api",
    "active_run": "tracking.api",
    "autolog": "tracking.autolog",
}
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS, package=__name__)
