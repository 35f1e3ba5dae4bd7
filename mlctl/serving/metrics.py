"""Prometheus metrics, kept cheap: plain dicts and lists updated on the event loop (one
dict increment and one bisect per request), rendered only when /metrics is asked.

With several workers each one publishes a snapshot to the server's run folder about once a
second; /metrics sums the live snapshot of the worker that answers with the files of the
others, so a scrape sees the whole server (the other workers' part at most ~1 s old).
"""

from __future__ import annotations

import json
import os
import time
from bisect import bisect_left
from pathlib import Path

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

HELP = {
    "mlctl_requests_total": ("counter", "HTTP requests by endpoint, status, and the model version that answered"),
    "mlctl_predictions_total": ("counter", "rows predicted, by model, version and role"),
    "mlctl_request_duration_seconds": ("histogram", "request latency from first byte to response, by endpoint"),
    "mlctl_batch_rows": ("histogram", "rows per model call (micro-batch size), by role"),
    "mlctl_batch_requests": ("histogram", "requests merged into one model call, by role"),
    "mlctl_batch_wait_seconds": ("histogram", "time a request waited in the batch queue, by role"),
    "mlctl_model_errors_total": ("counter", "model calls that raised, by model, version and role"),
    "mlctl_shadow_dropped_total": ("counter", "shadow calls skipped because the shadow queue was full"),
    "mlctl_model_reloads_total": ("counter", "hot reloads after the alias moved"),
    "mlctl_prediction_log_rows_total": ("counter", "rows handed to the prediction log"),
    "mlctl_prediction_log_pending": ("gauge", "rows queued or buffered for the prediction log, not yet in the store"),
    "mlctl_model_info": ("gauge", "the model versions being served (value 1)"),
    "mlctl_workers": ("gauge", "worker processes that published metrics"),
}


class Histogram:
    __slots__ = ("buckets", "counts", "sum", "count")

    def __init__(self, buckets):
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1


class Metrics:
    def __init__(self):
        self.counters: dict[tuple, float] = {}
        self.gauges: dict[tuple, float] = {}
        self.histograms: dict[tuple, Histogram] = {}

    def inc(self, name: str, labels: tuple = (), value: float = 1) -> None:
        key = (name, labels)
        self.counters[key] = self.counters.get(key, 0) + value

    def set(self, name: str, labels: tuple, value: float) -> None:
        self.gauges[(name, labels)] = value

    def observe(self, name: str, labels: tuple, value: float, buckets) -> None:
        key = (name, labels)
        hist = self.histograms.get(key)
        if hist is None:
            hist = self.histograms[key] = Histogram(buckets)
        hist.observe(value)

    def snapshot(self) -> dict:
        return {
            "counters": [[n, list(l), v] for (n, l), v in list(self.counters.items())],
            "gauges": [[n, list(l), v] for (n, l), v in list(self.gauges.items())],
            "histograms": [[n, list(l), list(h.buckets), list(h.counts), h.sum, h.count]
                           for (n, l), h in list(self.histograms.items())],
        }


def publish(snapshot: dict, folder: Path, worker: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".worker-{worker}.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps({"pid": os.getpid(), "time": time.time(), **snapshot}))
    os.replace(tmp, folder / f"worker-{worker}.json")


def read_published(folder: Path | None, skip_worker: int | None = None) -> list[dict]:
    if folder is None or not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("worker-*.json")):
        if skip_worker is not None and path.name == f"worker-{skip_worker}.json":
            continue
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a worker mid-restart: its next snapshot comes within a second
    return out


def merge(snapshots: list[dict]) -> dict:
    counters: dict = {}
    gauges: dict = {}
    hists: dict = {}
    for snap in snapshots:
        for name, labels, value in snap.get("counters", []):
            key = (name, _key(labels))
            counters[key] = counters.get(key, 0) + value
        for name, labels, value in snap.get("gauges", []):
            key = (name, _key(labels))
            gauges[key] = value if name == "mlctl_model_info" else gauges.get(key, 0) + value
        for name, labels, buckets, counts, total, count in snap.get("histograms", []):
            key = (name, _key(labels))
            if key not in hists:
                hists[key] = [list(buckets), [0] * len(counts), 0.0, 0]
            h = hists[key]
            h[1] = [a + b for a, b in zip(h[1], counts)]
            h[2] += total
            h[3] += count
    gauges[("mlctl_workers", ())] = len(snapshots)
    return {"counters": counters, "gauges": gauges, "histograms": hists}


def render(merged: dict) -> str:
    """Prometheus text exposition format 0.0.4."""
    by_name: dict[str, list[str]] = {}
    for (name, labels), value in sorted(merged["counters"].items()):
        by_name.setdefault(name, []).append(f"{name}{_labels(labels)} {_num(value)}")
    for (name, labels), value in sorted(merged["gauges"].items()):
        by_name.setdefault(name, []).append(f"{name}{_labels(labels)} {_num(value)}")
    for (name, labels), (buckets, counts, total, count) in sorted(merged["histograms"].items()):
        lines = by_name.setdefault(name, [])
        running = 0
        for bound, c in zip(list(buckets) + ["+Inf"], counts):
            running += c
            lines.append(f"{name}_bucket{_labels(labels + (('le', _num(bound)),))} {running}")
        lines.append(f"{name}_sum{_labels(labels)} {_num(total)}")
        lines.append(f"{name}_count{_labels(labels)} {count}")
    out = []
    for name in sorted(by_name):
        kind, text = HELP.get(name, ("untyped", name))
        out.append(f"# HELP {name} {text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(by_name[name])
    return "\n".join(out) + "\n"


def _key(labels) -> tuple:
    return tuple(tuple(pair) for pair in labels)


def _labels(labels) -> str:
    if not labels:
        return ""
    parts = []
    for key, value in labels:
        text = str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        parts.append(f'{key}="{text}"')
    return "{" + ",".join(parts) + "}"


def _num(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)
