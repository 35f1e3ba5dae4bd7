"""Train the candidate: run the policy's pipeline stages (and what they need) through the
pipeline core, then register what it wrote as a new version linked to that pipeline run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mlctl.retrain.policy_types import Policy

Say = Callable[[str], None]


@dataclass
class Training:
    report: object                  # the pipeline's RunReport
    run_id: str | None              # the tracking run of the pipeline (or the one that last wrote the model)
    error: str | None = None        # why there is no candidate (a stage failed, no model written)

    def to_json(self) -> dict:
        data = self.report.to_json()
        return {"ok": self.error is None, "run_id": self.run_id, "error": self.error,
                "duration": data["duration"], "log_dir": data["log_dir"],
                "stages": [{k: s[k] for k in ("stage", "outcome", "cache", "duration", "error", "log")}
                           for s in data["stages"]]}


class _Relay:
    """The pipeline's progress, as one line per stage event."""

    def __init__(self, say: Say):
        self.say = say

    def planned(self, stages):
        self.say(f"pipeline: {', '.join(stages)}")

    def waiting_for_lock(self, holder):
        self.say(f"pipeline: waiting for another `mlctl pipeline run`{holder}")

    def stage_started(self, stage, action, reasons, cmd):
        why = reasons[0].text() if reasons else ""
        self.say(f"pipeline: {stage}: {action}" + (f" ({why})" if why else ""))

    wants_lines = False

    def stage_output(self, stage, line):
        pass

    def stage_finished(self, result):
        self.say(f"pipeline: {result.stage}: {result.outcome}" + (f" ({result.error})" if result.error else ""))


def run_pipeline(repo, policy: Policy, force: bool, say: Say) -> Training:
    from mlctl.pipeline.api import run

    report = run(repo, policy.stages, force=force, observer=_Relay(say))
    if not report.ok:
        failed = report.failed
        why = (f"stage {failed[0].stage} failed ({failed[0].error})" if failed
               else "the pipeline was interrupted" if report.interrupted else "the pipeline did not finish")
        return Training(report, report.run_id, error=why)
    output = repo.root / policy.model_output
    if not output.exists():
        return Training(report, report.run_id, error=f"the pipeline did not write {policy.model_output}")
    run_id = report.run_id or _producing_run(repo, policy.model_output)
    return Training(report, run_id)


def _producing_run(repo, model_output: str) -> str | None:
    """Nothing ran (every stage was up to date): the newest run that wrote this very model."""
    from mlctl.errors import MlctlError
    from mlctl.pipeline.api import hash_path

    pointer = hash_path(repo, model_output)
    if pointer is None:
        return None
    try:
        from mlctl.tracking.api import list_runs

        key = f"out.{model_output}"
        if any(ch.isspace() or ch in "`'\"" for ch in key):
            return None
        found = list(list_runs(repo, filter_expr=f"tags.`{key}` = '{pointer.hash}'", limit=1))
    except (MlctlError, ImportError, TypeError):
        return None
    return found[0].id if found else None


def existing_version(repo, policy: Policy) -> int | None:
    """The version whose artifact is byte for byte the model the pipeline wrote, if any
    (a pipeline with nothing to do writes the model it wrote last time)."""
    from mlctl.registry.api import put_artifact
    from mlctl.registry.api import read_index

    # put_artifact hashes exactly as registration does (the objects it stores are the ones
    # registration would store anyway; unreferenced ones go with gc)
    digest = put_artifact(repo, repo.root / policy.model_output)["hash"]
    matches = [int(n) for n, e in read_index(repo, policy.model)["versions"].items() if e.get("artifact") == digest]
    return max(matches) if matches else None


def register_candidate(repo, policy: Policy, run_id: str | None):
    from mlctl.registry.api import register

    example = repo.root / policy.eval_data
    return register(repo, policy.model, repo.root / policy.model_output, run=run_id,
                    example=example if example.is_file() else None, target=policy.target,
                    description=f"trained by `mlctl retrain` ({policy.path})")
