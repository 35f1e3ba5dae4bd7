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
from mlctl.pipeline.report import RunReport, StageResult
from mlctl.pipeline.spec import Stage
from mlctl.store.repo import Repo

EXPERIMENT_KEY = "pipeline.experiment"
DEFAULT_EXPERIMENT = "pipeline"


class Recorder:
    def __init__(self, repo: Repo, name: str, params: dict, tags: dict, project=None):
        self.repo, self.name, self.params, self.tags = repo, name, params, tags
        self.project = project  # for sweep instances: their items and the params they read
        self._lock = threading.Lock()
        self.run = None
        self.children: dict[str, object] = {}  # sweep instance -> its child run

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

    def run_for(self, stage: Stage) -> str:
        """The run a stage's process logs into: its own child run for a sweep instance."""
        parent = self.ensure_started()
        if not stage.group:
            return parent
        with self._lock:
            if stage.name not in self.children:
                self.children[stage.name] = self._start_child(stage, parent)
            return self.children[stage.name].id

    def _start_child(self, stage: Stage, parent: str):
        from mlctl.tracking.api import start_run

        params = {**_flat_params(self.project.params, stage), **json.loads(json.dumps(stage.item, default=str))}
        return start_run(name=stage.name, params=params, parent=parent, repo=self.repo, data=[],
                         tags={"mlctl.stage": stage.name, "mlctl.sweep": stage.group})

    def end_child(self, stage: Stage, result: StageResult) -> None:
        """Record an instance's outcome and metrics in its child run and end it."""
        if not stage.group or self.run is None or result.outcome in ("skipped", "not-run"):
            return
        self.run_for(stage)  # an up-to-date instance gets its child run now
        child = self.children[stage.name]
        if child.ended:
            return
        try:
            child.set_tags(_stage_tags(result, "stage"))
            if result.outcome != "up-to-date":
                child.log_metrics({"stage.duration_s": round(result.duration, 3)})
            metrics = _metrics_values(self.repo, result)
            if metrics:
                child.log_metrics(metrics)
        finally:
            child.end("finished" if result.succeeded else "killed" if result.outcome == "interrupted" else "failed")

    def finish(self, report: RunReport, report_path=None) -> None:
        if self.run is None:
            return
        try:
            for result in report.results:
                stage = self.project.pipeline.stages.get(result.stage) if self.project else None
                if stage is not None:
                    self.end_child(stage, result)
            self._log(report, report_path)
        finally:
            self.run.end(_status(report))

    def _log(self, report: RunReport, report_path) -> None:
        run = self.run
        tags, durations, metrics = {}, {}, {}
        for result in report.results:
            tags.update({f"dep.{path}": digest or "missing" for path, digest in result.deps.items()})
            tags.update({f"out.{path}": p.hash for path, p in {**result.outs, **result.metrics}.items()})
            if result.stage in self.children or "@" in result.stage:
                continue  # an instance's outcome and metrics are its child run's (N instances, one key)
            prefix = f"stage.{result.stage}"
            tags.update(_stage_tags(result, prefix))
            if result.outcome != "not-run":
                durations[f"{prefix}.duration_s"] = round(result.duration, 3)
            metrics.update(_metrics_values(self.repo, result))
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


def _stage_tags(result: StageResult, prefix: str) -> dict:
    tags = {f"{prefix}.outcome": result.outcome, f"{prefix}.cache": result.cache}
    if result.fingerprint:
        tags[f"{prefix}.fingerprint"] = result.fingerprint
    return tags


def _metrics_values(repo: Repo, result: StageResult) -> dict:
    values: dict = {}
    for path in result.metrics:
        values.update(read_metrics(repo.root / path))
    return values


def _flat_params(all_params, stage: Stage) -> dict:
    values: dict = {}
    for key, value in stage_params(all_params, stage).items():
        values.update(flatten(value, key + ".") if isinstance(value, dict) and value else {key: value})
    return json.loads(json.dumps(values, default=str))


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
        values.update(_flat_params(project.params, project.pipeline.stages[name]))
    return values
