"""The dashboard's door: `mlctl ui`.
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "serve": "server",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
