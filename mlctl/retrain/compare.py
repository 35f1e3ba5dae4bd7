"""Evaluate the candidate and production on the same holdout; check the gates and the
required improvement. Scoring is the registry's (the metrics `model promote --eval`
computes), so a retrain and a manual promotion judge models the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.retrain import decide
from mlctl.retrain.policy_types import LOWER_IS_BETTER, Policy


@dataclass
class Comparison:
    data: dict                                   # {"data", "hash", "target", "rows"}
    candidate: dict                              # metric -> value on the holdout
    production: dict | None                      # same, for production (None without one)
    checks: list = field(default_factory=list)   # one per gate: gate, metric, op, limit, value, source, passed
    improvement: dict = field(default_factory=dict)
    promote: bool = False
    failures: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"eval": self.data, "candidate_metrics": self.candidate, "production_metrics": self.production,
                "gates": self.checks, "improvement": self.improvement, "passed": self.promote,
                "failures": self.failures}

    def eval_record(self) -> dict:
        """The `eval` of the history entry, shaped like `model promote`'s."""
        return {**self.data, "metrics": self.candidate, "incumbent_metrics": self.production}


def compare(repo, policy: Policy, candidate, production) -> Comparison:
    from mlctl.registry.api import read_frame
    from mlctl.store import hashing

    path = repo.root / policy.eval_data
    frame = read_frame(path)
    data = {"data": policy.eval_data, "hash": hashing.hash_file(path), "target": policy.target, "rows": len(frame)}
    cand = _score(repo, candidate, frame, policy.target, candidate.task)
    prod = _score(repo, production, frame, policy.target, production.task or candidate.task) if production else None
    result = Comparison(data, cand, prod)
    result.checks = [_gate(g, cand, candidate) for g in policy.gates]
    result.improvement = _improvement(policy, cand, prod, candidate.task)
    result.promote, result.failures = decide.verdict(result.checks, result.improvement)
    return result


def _score(repo, version, frame, target: str, task: str | None) -> dict:
    from mlctl.registry.api import evaluate_model
    from mlctl.registry.api import load_model

    return evaluate_model(load_model(repo, version), frame, target, task)


def _gate(gate, measured: dict, candidate) -> dict:
    """A gate's value: measured on the holdout when it is a holdout metric, else the
    candidate's run metric (e.g. a training-time figure logged by the pipeline)."""
    if gate.metric in measured:
        value, source = measured[gate.metric], "eval"
    elif gate.metric in (candidate.metrics or {}):
        value, source = candidate.metrics[gate.metric], "run"
    else:
        value, source = None, "missing"
    return {**gate.to_json(), "value": value, "source": source, "passed": gate.holds(value)}


def _improvement(policy: Policy, cand: dict, prod: dict | None, task: str | None) -> dict:
    from mlctl.registry.api import PRIMARY

    metric = policy.min_improvement.metric or PRIMARY.get(task or "", "accuracy" if "accuracy" in cand else "rmse")
    return decide.improvement_check(metric, cand.get(metric), None if prod is None else prod.get(metric),
                                    policy.min_improvement.delta, metric not in LOWER_IS_BETTER)
