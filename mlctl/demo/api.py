"""The demo's door: `mlctl demo`.
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "run_demo": "runner",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
