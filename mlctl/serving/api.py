"""Serving's door: `mlctl serve`.

    settings_from_args(model, ...) -> ServeSettings; serve(repo, settings, on_ready) -> exit code;
    dockerfile(repo, settings) -> {"dockerfile", "requirements", ...}
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "serve": "command:run",
    "settings_from_args": "command",
    "dockerfile": "command",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
