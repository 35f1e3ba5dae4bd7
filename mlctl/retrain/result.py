"""What one `mlctl retrain` decided and why: the result the CLI renders and --json prints,
and the compact summary kept in the model's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mlctl.retrain.decide import EXIT_CODES, Cooldown


@dataclass
class RetrainResult:
    model: str
    policy: str
    outcome: str = ""                       # no-op | promoted | rejected | failed | awaiting-approval
    message: str = ""
    reason: str = ""                        # why it retrained or not (the triggers, the cooldown, --force)
    dry_run: bool = False
    forced: bool = False
    would_retrain: bool | None = None       # dry run: whether a real run would retrain
    production_before: int | None = None
    production_after: int | None = None
    triggers: list = field(default_factory=list)
    cooldown: Cooldown | None = None
    training: object = None                 # candidate.Training
    candidate: int | None = None
    comparison: object = None               # compare.Comparison
    pruned: dict = field(default_factory=lambda: {"deleted": [], "skipped": []})
    entry: dict | None = None               # the history entry written
    plan: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    notifications: dict = field(default_factory=dict)   # notify.py: what was sent, and how it went
    validation: list = field(default_factory=list)      # data_gates.py: each `validate:` suite's verdict
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    duration: float = 0.0

    @property
    def exit_code(self) -> int:
        return 0 if self.dry_run else EXIT_CODES[self.outcome]

    def spec(self, number: int | None) -> str | None:
        return None if number is None else f"{self.model}:{number}"

    def to_json(self) -> dict:
        return {
            "model": self.model, "policy": self.policy, "outcome": self.outcome, "message": self.message,
            "reason": self.reason,
            "exit_code": self.exit_code, "dry_run": self.dry_run, "forced": self.forced,
            "would_retrain": self.would_retrain,
            "production": {"before": self.production_before, "after": self.production_after},
            "triggers": [t.to_json() for t in self.triggers],
            "cooldown": self.cooldown.to_json(self.started) if self.cooldown else None,
            "pipeline": self.training.to_json() if self.training else None,
            "candidate": self.spec(self.candidate),
            "evaluation": self.comparison.to_json() if self.comparison else None,
            "pruned": self.pruned, "history_entry": self.entry.get("seq") if self.entry else None,
            "plan": self.plan, "notes": self.notes, "notifications": self.notifications,
            "validation": self.validation,
            "started": self.started.isoformat(timespec="seconds"), "duration": round(self.duration, 3),
        }

    def summary(self) -> dict:
        """Kept in the history entry (``retrain``): small, but enough to tell the story."""
        out = {"outcome": self.outcome, "forced": self.forced, "policy": self.policy,
               "triggers": {t.name: {"fired": t.fired, "summary": t.summary} for t in self.triggers},
               "candidate": self.candidate, "production_before": self.production_before,
               "duration": round(self.duration, 3)}
        if self.validation:
            out["validation"] = self.validation
        drift = next((t for t in self.triggers if t.name == "drift" and "share_drifted" in t.detail), None)
        if drift:
            out["drift"] = {k: drift.detail.get(k) for k in ("share_drifted", "drift_share", "check")}
            out["drift"]["drifted_columns"] = drift.detail.get("drifted_columns", [])[:20]
        if self.training is not None:
            out["run_id"] = self.training.run_id
            out["pipeline_error"] = self.training.error
        if self.comparison is not None:
            c = self.comparison
            out.update(metrics={"candidate": c.candidate, "production": c.production}, improvement=c.improvement,
                       failures=c.failures)
        return out
