"""Lazy doors: a component's ``api.py`` names what it offers in one table, and each name
is imported on first use.

Why lazy: the CLI imports one command's api per run, and importing every module of a
component up front costs 60-100 ms, as much as mlctl's whole startup. A table keeps the
door explicit (one place lists what other components and the CLI may call, and which
module holds it) without paying for the rest of the room.

    # mlctl/registry/api.py
    EXPORTS = {"promote": "gates", "delete": "versions:delete_version"}
    __getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)

``"module"`` means the same name in ``mlctl.<component>.<module>``; ``"module:attr"``
gives the door a different name (the CLI's verb) for the module's ``attr``. A package
(``mlctl``, ``mlctl.features``) serves its user-facing names the same way, with
``package`` set to itself.
"""

from __future__ import annotations

import importlib
import sys


def door(api_module: str, exports: dict[str, str], package: str | None = None):
    package = package or api_module.rsplit(".", 1)[0]

    def __getattr__(name: str):
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {api_module!r} has no attribute {name!r}")
        module, _, attr = where.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attr or name)
        setattr(sys.modules[api_module], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[api_module])) | set(exports))

    return __getattr__, __dir__
