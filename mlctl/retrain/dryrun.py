"""`mlctl retrain --dry-run`: everything a real run would look at, nothing written.

The triggers are checked (the drift check is not recorded), the cooldown read from the
history, and the pipeline's own plan says which stages would run and why."""

from __future__ import annotations

import datetime as dt

from mlctl.retrain import decide, records
from mlctl.retrain.triggers import check_triggers
from mlctl.retrain.policy_types import Policy
from mlctl.retrain.result import RetrainResult

WOULD_RETRAIN = "would-retrain"


def dry_run(repo, policy: Policy, force: bool, say, now: dt.datetime | None) -> RetrainResult:
    r = RetrainResult(model=policy.model, policy=policy.path, dry_run=True, forced=force,
                      started=now or dt.datetime.now(dt.timezone.utc))
    production = records.production_version(repo, policy.model)
    r.production_before = r.production_after = production.version if production else None
    if records.is_locked(repo, policy.model):
        r.notes.append(f"another retrain of {policy.model} is running right now")
    last = decide.last_retrain(records.history(repo, policy.model))
    r.cooldown = decide.cooldown_state(policy.cooldown_s, last["time"] if last else None, r.started)
    r.triggers = [] if force else check_triggers(repo, policy, production, False, say)
    go, why = decide.should_retrain(r.triggers, r.cooldown, force)
    r.would_retrain, r.reason = go, why
    stays = f"production stays {production.spec}" if production else "no production version"
    if not go:
        r.outcome, r.message = decide.NOOP, f"would do nothing: {why}; {stays}"
        return r
    r.plan = _pipeline_plan(repo, policy, force)
    r.outcome, r.message = WOULD_RETRAIN, f"would retrain: {_steps(repo, policy, production, r.plan)}"
    return r


def _pipeline_plan(repo, policy: Policy, force: bool) -> list[dict]:
    from mlctl.pipeline.api import dry_run as pipeline_dry_run

    return [item.to_json() for item in pipeline_dry_run(repo, policy.stages, force=force)]


def _steps(repo, policy: Policy, production, plan: list[dict]) -> str:
    from mlctl.registry.api import read_index

    work = [f"{p['stage']} ({p['action']})" for p in plan if p["action"] != "ok"]
    number = read_index(repo, policy.model).get("next", 1)
    conditions = []
    if policy.gates:
        conditions.append(", ".join(g.text for g in policy.gates) + (" holds" if len(policy.gates) == 1 else " hold"))
    if production:
        improvement = policy.min_improvement
        conditions.append(f"{improvement.metric or 'the primary metric'} beats {production.spec} "
                          f"by >= {improvement.delta:g}")
    against = f" and {production.spec}" if production else ""
    return (f"run the pipeline ({', '.join(work) if work else 'every stage is up to date'}), register "
            f"{policy.model}:{number}, evaluate it{against} on {policy.eval_data}, promote it if "
            f"{' and '.join(conditions) if conditions else 'it evaluates (no gates, no production)'}")
