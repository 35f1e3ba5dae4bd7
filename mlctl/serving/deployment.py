"""A running server's record in the registry (model, version, alias, host, port, pid,
started), so `mlctl model show` and `mlctl status` say what is deployed where."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone


def record(repo, settings, primary, port: int) -> dict:
    from mlctl.registry.deployments import record_deployment

    entry = {
        "model": primary.name, "version": primary.version, "alias": settings.model.alias,
        "host": settings.host, "port": port, "pid": os.getpid(), "hostname": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "workers": settings.workers,
    }
    record_deployment(repo, entry)
    return entry


def remove(repo, entry: dict) -> None:
    from mlctl.registry.deployments import remove_deployment

    try:
        remove_deployment(repo, entry)
    except Exception:  # never mask the real exit; a stale record is detected by its dead pid
        pass
