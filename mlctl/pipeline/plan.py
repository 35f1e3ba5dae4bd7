"""What `pipeline run` would do, and why: the engine of `pipeline status` and `--dry-run`.

A stale stage whose fingerprint has a run-cache entry (or matches its pipeline.lock record)
with every output object in the local store is restored instead of run. Downstream of a
stage that will be restored, the plan predicts deps from the cached output hashes; downstream
of one that will run, it cannot know, and says the stage runs after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.pipeline import artifacts, dag, runcache
from mlctl.pipeline.loader import Project
from mlctl.pipeline.lockfile import StageRecord
from mlctl.pipeline.state import Evaluation, Reason, evaluate
from mlctl.store.paths import overlaps
from mlctl.store.repo import Repo

OK, RESTORE, RUN = "ok", "restore", "run"


@dataclass
class PlanItem:
    stage: str
    action: str  # ok | restore | run
    reasons: list[Reason] = field(default_factory=list)
    fingerprint: str | None = None
    entry: runcache.Entry | None = None

    def to_json(self) -> dict:
        return {"stage": self.stage, "action": self.action, "fingerprint": self.fingerprint,
                "reasons": [r.to_json() for r in self.reasons],
                "cached_run": self.entry.created if self.entry else None}


def cached_outputs(repo: Repo, ev: Evaluation, record: StageRecord | None) -> runcache.Entry | None:
    """A run with exactly these inputs whose outputs are all in the local store."""
    entry = runcache.lookup(repo, ev.fingerprint)
    if entry is None and record is not None and record.fingerprint == ev.fingerprint:
        entry = runcache.Entry(ev.fingerprint, ev.stage, record.cmd, record.deps, record.params,
                               record.outs, record.metrics)
    if entry is not None:
        entry = runcache.for_stage(entry, ev.outs, ev.metrics)
    if entry is None or not all(artifacts.present(repo, p) for p in entry.products.values()):
        return None
    return entry


def decide(repo: Repo, ev: Evaluation, record: StageRecord | None, force: bool) -> PlanItem:
    if force:
        return PlanItem(ev.stage, RUN, [Reason("forced"), *ev.reasons], ev.fingerprint)
    if not ev.reasons:
        return PlanItem(ev.stage, OK, [], ev.fingerprint)
    entry = None if ev.reasons[0].kind == "always" else cached_outputs(repo, ev, record)
    return PlanItem(ev.stage, RESTORE if entry else RUN, ev.reasons, ev.fingerprint, entry)


def plan(repo: Repo, project: Project, records: dict[str, StageRecord], targets=(), force: bool = False) -> list[PlanItem]:
    with artifacts.PathHasher(repo) as hasher:
        planner = _Planner(repo, hasher, project, records, force)
        return [planner.stage(name) for name in dag.select(project.pipeline, targets)]


class _Planner:
    def __init__(self, repo: Repo, hasher, project: Project, records: dict[str, StageRecord], force: bool):
        self.repo, self.hasher, self.project, self.records, self.force = repo, hasher, project, records, force
        self.predicted: dict[str, tuple[str, str]] = {}  # product path -> (hash after a restore, stage)
        self.running: dict[str, str] = {}  # product path -> the stage that will rewrite it

    def stage(self, name: str) -> PlanItem:
        stage = self.project.pipeline.stages[name]
        after = _runs_before(stage.deps, self.running, self.predicted)
        if after and not self.force:
            item = PlanItem(name, RUN, [Reason("upstream", up, new=why) for up, why in after.items()])
        else:
            known = {d: self.predicted[d][0] for d in stage.deps if d in self.predicted}
            record = self.records.get(name)
            ev = evaluate(self.hasher, stage, self.project.params, record, predicted=known)
            item = decide(self.repo, ev, record, self.force)
        for path in stage.products:
            if item.action == RUN:
                self.running[path] = name
            elif item.action == RESTORE:
                self.predicted[path] = (item.entry.products[path].hash, name)
        return item


def _runs_before(deps, running: dict[str, str], predicted: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Stages that will rewrite a dep before this one: stage -> why. A dep inside a folder
    that will be restored counts too (the plan predicts whole outputs, not their parts)."""
    ups: dict[str, str] = {}
    for dep in deps:
        for path, stage in running.items():
            if overlaps(dep, path):
                ups.setdefault(stage, "will run")
        for path, (_digest, stage) in predicted.items():
            if dep != path and overlaps(dep, path):
                ups.setdefault(stage, "will be restored")
    return ups


def dry_run(repo: Repo, targets=(), force: bool = False) -> list[PlanItem]:
    """`pipeline run --dry-run`: the plan, touching nothing."""
    from mlctl.pipeline import loader, lockfile

    return plan(repo, loader.load(repo), lockfile.read(repo), targets, force)
