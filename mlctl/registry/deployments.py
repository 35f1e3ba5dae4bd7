"""Deployments: what is being served where, one record per running server (a ref
``deployments/<model>/<id>``, or a row on the backend: index.py):

    {"id", "model", "version", "alias", "host", "port", "pid", "hostname", "started",
     "updated", "pid_start", ...extra}

A server records itself when it starts, updates the version when it follows an alias,
and removes its record on shutdown. A record whose process is gone (same host, pid not
running, or the pid reused by another process) is reported ``stale``; records from other
hosts can't be checked from here (``stale: null``).
"""

from __future__ import annotations

import os
import secrets
import time

from mlctl.errors import NotFoundError
from mlctl.registry import actors, index
from mlctl.registry.names import check_name
from mlctl.store.repo import Repo
from mlctl.store.times import now_iso

def record_deployment(repo: Repo, model: str, version: int, host: str, port: int, alias: str | None = None,
                      pid: int | None = None, extra: dict | None = None) -> str:
    """Record a running server; returns its deployment id."""
    check_name(model)
    pid = os.getpid() if pid is None else int(pid)
    dep_id = f"{int(time.time() * 1000):013d}-{pid}-{secrets.token_hex(3)}"
    now = now_iso()
    record = {"id": dep_id, "model": model, "version": int(version), "alias": alias, "host": host,
              "port": int(port), "pid": pid, "hostname": actors.hostname(), "started": now,
              "updated": now, "pid_start": _process_start(pid)}
    record.update(extra or {})
    index.write_deployment(repo, model, dep_id, record)
    return dep_id


def update_deployment(repo: Repo, model: str, dep_id: str, **changes) -> dict:
    """Change fields of a record (e.g. the version after following an alias)."""
    def apply(old):
        if old is None:
            raise NotFoundError(f"no deployment {dep_id} of model {model}")
        return {**old, **changes, "updated": now_iso()}

    return index.update_deployment(repo, check_name(model), dep_id, apply)


def remove_deployment(repo: Repo, model: str, dep_id: str) -> None:
    index.remove_deployment(repo, check_name(model), dep_id)


def list_deployments(repo: Repo, name: str | None = None) -> list[dict]:
    """Every record (of one model, or all), each with ``stale`` true/false/null."""
    out = []
    for dep_id, record in index.deployments(repo, check_name(name) if name else None):
        if not isinstance(record, dict):
            continue
        record = dict(record, id=dep_id, stale=is_stale(record))
        out.append(record)
    return sorted(out, key=lambda r: (r.get("model", ""), r["id"]))


def live_deployments(repo: Repo, name: str) -> list[dict]:
    return [d for d in list_deployments(repo, name) if d["stale"] is not True]


def prune_stale(repo: Repo, name: str | None = None) -> list[str]:
    """Remove records of servers known to be gone; returns their ids."""
    removed = []
    for record in list_deployments(repo, name):
        if record["stale"] is True:
            index.remove_deployment(repo, record["model"], record["id"])
            removed.append(record["id"])
    return removed


def is_stale(record: dict) -> bool | None:
    if record.get("hostname") != actors.hostname():
        return None
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    started = record.get("pid_start")
    return started is not None and _process_start(pid) not in (None, started)


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to notice pid reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
