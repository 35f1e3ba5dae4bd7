"""A running server's record in the registry (model, version, alias, host, port, pid,
started, plus workers, canary, shadow), so `mlctl model show` and `mlctl status` say what
is deployed where. The supervisor keeps the version current when the alias moves and
removes the record on shutdown; a record left by a killed server is reported stale by the
registry (its pid is gone)."""

from __future__ import annotations

import os


def record(repo, settings, primary, port: int) -> dict:
    from mlctl.registry.api import record_deployment

    extra = {"workers": settings.workers, "log_predictions": settings.log_predictions,
             "canary": {"model": str(settings.canary[0]), "percent": settings.canary[1]} if settings.canary else None,
             "shadow": str(settings.shadow) if settings.shadow else None, "auth": settings.token is not None}
    dep_id = record_deployment(repo, primary.name, primary.version, settings.host, port,
                               alias=settings.model.alias, pid=os.getpid(), extra=extra)
    return {"id": dep_id, "model": primary.name, "version": primary.version, "alias": settings.model.alias,
            "host": settings.host, "port": port, "pid": os.getpid(), **extra}


def update_version(repo, entry: dict, version: int) -> None:
    from mlctl.registry.api import update_deployment

    update_deployment(repo, entry["model"], entry["id"], version=int(version))
    entry["version"] = int(version)


def remove(repo, entry: dict) -> None:
    from mlctl.registry.api import remove_deployment

    remove_deployment(repo, entry["model"], entry["id"])
