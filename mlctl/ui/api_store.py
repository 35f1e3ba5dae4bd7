"""``/api/health``: the dashboard's own facts, and which components this mlctl has.

Each component's API module (``api_models``, ``api_drift``, ``api_pipeline``,
``api_validation``) is mounted
only when that component's core package is installed, so the dashboard never shows a
page it has no data source for.
"""

from __future__ import annotations

import importlib
import importlib.util

from mlctl.ui.http import JSON, Query

# component -> (core package it reads, the dashboard module serving it)
COMPONENTS = {
    "tracking": ("mlctl.tracking", None),
    "registry": ("mlctl.registry", "mlctl.ui.api_models"),
    "monitoring": ("mlctl.monitoring", "mlctl.ui.api_drift"),
    "pipeline": ("mlctl.pipeline", "mlctl.ui.api_pipeline"),
    "validation": ("mlctl.validation", "mlctl.ui.api_validation"),
}


def available(component: str) -> bool:
    package, module = COMPONENTS[component]
    if importlib.util.find_spec(package) is None:
        return False
    return module is None or importlib.util.find_spec(module) is not None


def component_routes() -> list:
    routes = []
    for name, (_package, module) in COMPONENTS.items():
        if module and available(name):
            routes.extend(importlib.import_module(module).ROUTES)
    return routes


def health(request, repo) -> JSON:
    from mlctl import __version__

    Query(request)
    return JSON({"ok": True, "version": __version__, "root": str(repo.root),
                 "components": {name: available(name) for name in COMPONENTS}})
