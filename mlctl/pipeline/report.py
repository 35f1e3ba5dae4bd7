"""What happened to each stage in a `pipeline run`, and the run as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.pipeline.artifacts import Pointer
from mlctl.pipeline.state import Reason

# stage outcomes
UP_TO_DATE, RESTORED, RAN = "up-to-date", "restored", "ran"
FAILED, SKIPPED, INTERRUPTED, NOT_RUN = "failed", "skipped", "interrupted", "not-run"
SUCCEEDED = (UP_TO_DATE, RESTORED, RAN)
CACHE = {UP_TO_DATE: "unchanged", RESTORED: "hit", RAN: "miss"}


@dataclass
class StageResult:
    stage: str
    outcome: str
    reasons: list[Reason] = field(default_factory=list)
    duration: float = 0.0
    fingerprint: str | None = None
    cmd: str = ""
    exit_code: int | None = None
    error: str | None = None
    log: str | None = None  # workspace-relative path of the stage's log
    log_tail: list[str] = field(default_factory=list)
    deps: dict[str, str | None] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    outs: dict[str, Pointer] = field(default_factory=dict)
    metrics: dict[str, Pointer] = field(default_factory=dict)
    executor: str | None = None  # where the command ran, when it ran: local or ray
    node: str | None = None  # the host (local) or Ray node that ran it
    attempts: int = 0  # 1 + the retries used

    @property
    def succeeded(self) -> bool:
        return self.outcome in SUCCEEDED

    @property
    def cache(self) -> str:
        """hit (restored from the run-cache), miss (ran), unchanged, or none."""
        return CACHE.get(self.outcome, "none")

    def to_json(self) -> dict:
        return {"stage": self.stage, "outcome": self.outcome, "cache": self.cache,
                "reasons": [r.to_json() for r in self.reasons], "duration": round(self.duration, 3),
                "fingerprint": self.fingerprint, "cmd": self.cmd, "exit_code": self.exit_code,
                "error": self.error, "log": self.log, "log_tail": self.log_tail,
                "executor": self.executor, "node": self.node, "attempts": self.attempts,
                "outs": {p: v.to_json() for p, v in {**self.outs, **self.metrics}.items()}}


@dataclass
class RunReport:
    results: list[StageResult]
    run_id: str | None = None
    interrupted: bool = False
    log_dir: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(r.succeeded for r in self.results)

    @property
    def failed(self) -> list[StageResult]:
        return [r for r in self.results if r.outcome == FAILED]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    def to_json(self) -> dict:
        return {"ok": self.ok, "run_id": self.run_id, "interrupted": self.interrupted,
                "duration": round(self.duration, 3), "log_dir": self.log_dir,
                "stages": [r.to_json() for r in self.results]}
