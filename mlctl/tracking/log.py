"""``mlctl run log``: record a run from the command line in one go.

Everything given is validated first (keys, numbers, files, data pointers, metrics
files), then artifacts go into the object store, then the run is written in a single
transaction: a bad argument records nothing, and a kill at any point leaves no
half-written run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.tracking import capture, values
from mlctl.tracking.metrics_file import read_metrics_file


@dataclass
class LogSpec:
    experiment: str | None = None
    name: str | None = None
    params: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)  # (key, step or None, value, None)
    tags: dict = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    metrics_files: list[str] = field(default_factory=list)


def parse_params(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, raw = values.split_assignment(item, "-p")
        out[values.check_key(key, "param")] = values.parse_scalar(raw)
    return out


def parse_tags(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, raw = values.split_assignment(item, "-t")
        out[values.check_key(key, "tag")] = raw
    return out


def parse_metrics(items: list[str]) -> list[tuple]:
    """``acc=0.9`` or ``loss@10=0.3`` (value at step 10) -> points."""
    out = []
    for item in items:
        target, raw = values.split_assignment(item, "-m")
        key, at, step_text = target.partition("@")
        key = values.check_key(key.strip(), "metric")
        step = None
        if at:
            try:
                step = int(step_text)
            except ValueError:
                raise UsageError(f"malformed -m {item!r}: the step after @ must be an integer") from None
        out.append((key, step, values.parse_metric_text(raw, key), None))
    return out


def check_artifacts(paths: list[str]) -> None:
    for path in paths:
        if not Path(path).exists():
            raise UsageError(f"artifact {path} does not exist")


def log_run(repo, spec: LogSpec):
    """Validate, store artifacts, then write the finished run; returns the Run."""
    from mlctl.tracking.artifacts import store_artifacts
    from mlctl.tracking.writes import create_run

    check_artifacts(spec.artifacts)
    points = list(spec.metrics)
    for path in spec.metrics_files:
        points.extend(read_metrics_file(path))
    data = capture.named_data(repo, spec.data) if spec.data else None
    artifacts = store_artifacts(repo, spec.artifacts)
    return create_run(repo, experiment=spec.experiment, name=spec.name, params=spec.params,
                      tags=spec.tags, status="finished", metrics=points, data=data,
                      artifacts=artifacts)
