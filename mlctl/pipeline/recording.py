"""Each `pipeline run` that executes or restores a stage is one tracking run.

The run starts lazily, when the first stage needs work (a no-op run records nothing), so
its id can go to every stage process as ``MLCTL_RUN_ID``: a stage's own
``mlctl.start_run()`` joins it. At the end it gets the params the stages read, the values
of their metrics files, dep and output hashes, and per-stage duration and cache hit/miss.
"""

from __future__ import annotations

import json
import threading

from mlctl.pipeline.metrics import read_metrics
from mlctl.pipeline.params import flatten
from mlctl.pipeline.report import RunReport
from mlctl.store.repo import Repo

EXPERIMENT_KEY = "pipeline.experiment"
DEFAULT_EXPERIMENT = "pipeline"


class PipelineFailed(Exception):
    """Given to the tracking run's context on exit so the run is recorded as failed."""


class Recorder:
    def __init__(self, repo: Repo, name: str, params: dict, tags: dict):
        self.repo, self.name, self.params, self.tags = repo, name, params, tags
        self._lock = threading.Lock()
        self._context = None
        self.run = None

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run is not None else None

    def ensure_started(self) -> str:
        with self._lock:
            if self.run is None:
                try:  # INTERIM until issue-4 lands: remove this fallback
                    from mlctl.tracking.api import start_run
                except ImportError:
                    self.run = _Interim()
                    return self.run.id

                experiment = self.repo.config.get(EXPERIMENT_KEY) or DEFAULT_EXPERIMENT
                self._context = start_run(experiment=experiment, name=self.name, params=self.params,
                                          tags=self.tags, repo=self.repo)
                self.run = self._context.__enter__()
            return self.run.id

    def finish(self, report: RunReport, report_path=None) -> None:
        if self.run is None:
            return
        try:
            self._log(report, report_path)
        finally:
            self._close(report)

    def _log(self, report: RunReport, report_path) -> None:
        run = self.run
        for result in report.results:
            prefix = f"stage.{result.stage}"
            run.set_tag(f"{prefix}.outcome", result.outcome)
            run.set_tag(f"{prefix}.cache", result.cache)
            if result.fingerprint:
                run.set_tag(f"{prefix}.fingerprint", result.fingerprint)
            run.log_metric(f"{prefix}.duration_s", round(result.duration, 3))
            for path, digest in result.deps.items():
                run.set_tag(f"data.{path}", digest or "missing")
            for path, pointer in {**result.outs, **result.metrics}.items():
                run.set_tag(f"out.{path}", pointer.hash)
            for path in result.metrics:
                values = read_metrics(self.repo.root / path)
                if values:
                    run.log_metrics(values)
        if report_path is not None:
            run.log_artifact(str(report_path))
        for result in report.failed:
            if result.log:
                run.log_artifact(str(self.repo.root / result.log))

    def _close(self, report: RunReport) -> None:
        context, self._context = self._context, None
        if context is None:  # INTERIM
            return
        if report.interrupted:
            context.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
        elif not report.ok:
            failed = ", ".join(r.stage for r in report.failed) or "a stage"
            error = PipelineFailed(f"stage failed: {failed}")
            context.__exit__(PipelineFailed, error, None)
        else:
            context.__exit__(None, None, None)


def run_params(project, stage_names: list[str]) -> dict:
    """The params the selected stages read, flattened to dotted keys."""
    from mlctl.pipeline.params import stage_params

    values: dict = {}
    for name in stage_names:
        for key, value in stage_params(project.params, project.pipeline.stages[name]).items():
            if isinstance(value, dict):
                values.update(flatten(value, key + "."))
            else:
                values[key] = value
    return json.loads(json.dumps(values, default=str))


class _Interim:  # INTERIM until issue-4 lands: remove
    def __init__(self):
        import uuid

        self.id = uuid.uuid4().hex

    def __getattr__(self, name):
        return lambda *a, **k: None
