"""The retraining policy's shape: retrain.yaml's keys and known values, and the validated
``Policy`` (parsed by policy.py and policy_fields.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlctl.errors import UsageError

POLICY_FILE = "retrain.yaml"
TOP_KEYS = ("model", "triggers", "drift", "pipeline", "evaluate", "gates", "min_improvement", "cooldown",
            "max_versions_kept", "performance_floor", "approval", "notify", "validate")
VALIDATE_KEYS = ("training", "holdout")
DRIFT_METHODS = ("auto", "ks", "chi2", "psi", "wasserstein", "jensenshannon")
EVAL_METRICS = ("accuracy", "f1", "roc_auc", "log_loss", "rmse", "mae", "r2")   # what the registry measures
LIVE_METRICS = ("accuracy", "f1", "rmse", "mae", "r2")                        # what labels + predictions give
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
AUTO = "auto"


class PolicyError(UsageError):
    """retrain.yaml is missing or malformed (exit 2)."""


@dataclass(frozen=True)
class DriftPolicy:
    reference: str = AUTO
    current: str = ""
    method: str = AUTO
    threshold: float | None = None
    drift_share: float = 0.5
    since: str | None = "7d"
    columns: tuple[str, ...] | None = None
    config: str | None = None


@dataclass(frozen=True)
class Improvement:
    metric: str | None = None   # None: the task's primary metric (accuracy, rmse)
    delta: float = 0.0


@dataclass(frozen=True)
class Floor:
    metric: str
    bound: float
    lower_is_better: bool = False   # `max:` instead of `min:`
    min_rows: int = 30

    def breached(self, value: float) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return value > self.bound if self.lower_is_better else value < self.bound

    def text(self) -> str:
        return f"{self.metric} {'<=' if self.lower_is_better else '>='} {self.bound:g}"


@dataclass(frozen=True)
class Policy:
    path: str
    model: str
    stages: tuple[str, ...]
    model_output: str
    eval_data: str
    target: str
    drift: DriftPolicy
    trigger_drift: bool = True
    trigger_new_data: bool = True
    gates: tuple = ()
    min_improvement: Improvement = field(default_factory=Improvement)
    cooldown_s: float = 0.0
    cooldown_text: str = "0s"
    max_versions_kept: int | None = None
    performance_floor: Floor | None = None
    approval_required: bool = False     # `approval: required`: a passing candidate waits for a person
    on_decision: str | None = None      # notify.on_decision: a command, the decision as JSON on stdin
    webhook: str | None = None          # notify.webhook: POSTed the decision
    validate_training: tuple[str, ...] = ()  # suites for the new training data, before the pipeline
    validate_holdout: tuple[str, ...] = ()   # suites for evaluate.data, before the candidate is judged
