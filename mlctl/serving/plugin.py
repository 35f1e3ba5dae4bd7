"""Serving's part in `mlctl status`: live servers and prediction-log rows not yet in the
store (light imports only: the deployment records and each server's published counters)."""

from __future__ import annotations

from pathlib import Path

from mlctl.store.repo import Repo


def status_section(repo: Repo) -> dict:
    from mlctl.registry.api import list_deployments

    servers = [_server(repo, d) for d in list_deployments(repo) if d.get("stale") is not True]
    pending = sum(s["pending_log_rows"] or 0 for s in servers)
    lines = [_line(s) for s in servers] or ["no server running"]
    if pending:
        lines.append(f"{pending} prediction-log rows pending (buffered in running servers)")
    return {"key": "serving", "title": "Serving", "lines": lines,
            "json": {"servers": servers, "pending_log_rows": pending}}


def run_dir(repo: Repo, pid: int) -> Path:
    """Where a server's workers publish their counters (see mlctl/serving/metrics.py)."""
    return Path(repo.cache_dir) / "serve" / str(pid)


def _server(repo: Repo, record: dict) -> dict:
    from mlctl.serving.metrics import read_published

    snapshots = read_published(run_dir(repo, record["pid"])) if record.get("stale") is False else []
    gauges = _total(snapshots, "gauges", "mlctl_prediction_log_pending")
    requests = _total(snapshots, "counters", "mlctl_requests_total")
    host = record.get("host")
    shown = f"[{host}]" if host and ":" in host else host
    return {
        "id": record.get("id"), "model": record.get("model"), "version": record.get("version"),
        "alias": record.get("alias"), "host": host, "port": record.get("port"),
        "url": f"http://{shown}:{record.get('port')}", "pid": record.get("pid"),
        "hostname": record.get("hostname"), "started": record.get("started"),
        "workers": record.get("workers"), "canary": record.get("canary"), "shadow": record.get("shadow"),
        "log_predictions": record.get("log_predictions"),
        "requests": int(requests) if snapshots else None,
        "pending_log_rows": int(gauges) if snapshots else (0 if record.get("stale") is False else None),
    }


def _total(snapshots: list[dict], kind: str, name: str) -> float:
    return sum(v for snap in snapshots for n, _labels, v in snap.get(kind, []) if n == name)


def _line(s: dict) -> str:
    alias = f" ({s['model']}@{s['alias']})" if s.get("alias") else ""
    text = f"{s['model']}:{s['version']}{alias} at {s['url']}, {s.get('workers') or 1} worker(s), pid {s['pid']}"
    if s.get("canary"):
        text += f", canary {s['canary']['model']} {s['canary']['percent']:g}%"
    if s.get("shadow"):
        text += f", shadow {s['shadow']}"
    if s.get("requests") is not None:
        text += f", {s['requests']} requests"
    return text
