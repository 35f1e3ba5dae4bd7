"""Each `pipeline run` that executes or restores a stage is one tracking run.

The run starts lazily, when the first stage needs work (a no-op run records nothing), so
its id can go to every stage process as ``MLCTL_RUN_ID``: a stage's own
``mlctl.start_run()`` joins it. At the end it gets the params the stages read, the values
of their metrics files, dep and output hashes, and per-stage duration and cache hit/miss.

Its ``data`` (the data versions it used) is exactly the tracked data among its stages'
deps, not every pointer in the workspace; what its stages wrote (outs and metrics files)
are its outputs, recorded as ``out.PATH`` tags and never as data it used. A path one
stage writes and a later stage of the same run reads is an output of the run.
"""

from __future__ import annotations

import json
import threading

from mlctl.pipeline.artifacts import tracked_roots
from mlctl.pipeline.metrics import read_metrics
from mlctl.pipeline.params import flatten, stage_params
from mlctl.pipeline.report import RunReport
from mlctl.store.repo import Repo

EXPERIMENT_KEY = "pipeline.experiment"
DEFAULT_EXPERIMENT = "pipeline"


class Recorder:
    def __init__(self, repo: Repo, name: str, params: dict, tags: dict):
        self.repo, self.name, self.params, self.tags = repo, name, params, tags
        self._lock = threading.Lock()
        self.run = None

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run is not None else None

    def ensure_started(self) -> str:
        """The tracking run's id, creating the run on first use (thread-safe)."""
        with self._lock:
            if self.run is None:
                from mlctl.tracking.api import start_run

                experiment = self.repo.config.get(EXPERIMENT_KEY) or DEFAULT_EXPERIMENT
                # inside `mlctl run log -- mlctl pipeline run`, MLCTL_RUN_ID makes this join that run
                self.run = start_run(experiment=experiment, name=self.name, params=self.params,
                                     tags=self.tags, repo=self.repo, data=[])  # inputs: at the end
            return self.run.id

    def finish(self, report: RunReport, report_path=None) -> None:
        if self.run is None:
            return
        try:
            self._log(report, report_path)
        finally:
            self.run.end(_status(report))

    def _log(self, report: RunReport, report_path) -> None:
        run = self.run
        tags, durations, metrics = {}, {}, {}
        for result in report.results:
            prefix = f"stage.{result.stage}"
            tags[f"{prefix}.outcome"] = result.outcome
            tags[f"{prefix}.cache"] = result.cache
            if result.fingerprint:
                tags[f"{prefix}.fingerprint"] = result.fingerprint
            if result.outcome != "not-run":
                durations[f"{prefix}.duration_s"] = round(result.duration, 3)
            tags.update({f"dep.{path}": digest or "missing" for path, digest in result.deps.items()})
            tags.update({f"out.{path}": p.hash for path, p in {**result.outs, **result.metrics}.items()})
            for path in result.metrics:
                metrics.update(read_metrics(self.repo.root / path))
        run.set_tags(tags)
        run.log_metrics(durations)
        if metrics:
            run.log_metrics(metrics)
        inputs = run_inputs(self.repo, report)
        if inputs:
            run.log_data(inputs)
        if report_path is not None:
            run.log_artifact(str(report_path), name="pipeline-report.json")
        for result in report.failed:
            if result.log:
                run.log_artifact(str(self.repo.root / result.log), name=f"logs/{result.stage}.log")


def run_inputs(repo: Repo, report: RunReport) -> list[str]:
    """The tracked data the run's stages read that none of its stages wrote."""
    written = [path for r in report.results for path in (*r.outs, *r.metrics)]
    read = [path for r in report.results for path in r.deps]
    return [path for path in tracked_roots(repo, read) if not any(_same_or_inside(path, w) for w in written)]


def _same_or_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _status(report: RunReport) -> str:
    if report.interrupted:
        return "killed"
    return "finished" if report.ok else "failed"


def run_params(project, stage_names: list[str]) -> dict:
    """The params the selected stages read, flattened to dotted keys."""
    values: dict = {}
    for name in stage_names:
        for key, value in stage_params(project.params, project.pipeline.stages[name]).items():
            if isinstance(value, dict) and value:
                values.update(flatten(value, key + "."))
            else:
                values[key] = value
    return json.loads(json.dumps(values, default=str))
