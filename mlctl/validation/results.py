"""What a validation found: one outcome per expectation, one result per dataset."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.validation import report
from mlctl.validation.suite import Expectation


@dataclass
class Outcome:
    expectation: Expectation
    success: bool
    observed: object = None
    unexpected: int | None = None  # failing rows (row-level expectations)
    considered: int | None = None  # rows the expectation looked at (non-missing ones, as GX)
    sample: list[dict] = field(default_factory=list)  # [{"row": N, "value": V}], first failing rows
    problem: str | None = None  # why it could not be evaluated: a missing column, a wrong type

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected is None or not self.considered:
            return None if self.unexpected is None else 0.0
        return 100.0 * self.unexpected / self.considered

    def to_json(self) -> dict:
        return {**self.expectation.to_json(), "success": self.success, "observed": self.observed,
                "unexpected_count": self.unexpected, "element_count": self.considered,
                "unexpected_percent": self.unexpected_percent, "sample": self.sample, "problem": self.problem}


@dataclass
class DatasetResult:
    target: str
    rev: str | None
    files: list[str]
    rows: int
    columns: dict[str, str]  # name -> DuckDB type
    outcomes: list[Outcome]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.expectation.severity == "error"]

    @property
    def warned(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.expectation.severity == "warn"]

    def to_json(self) -> dict:
        return {"target": self.target, "rev": self.rev, "files": self.files, "rows": self.rows,
                "columns": self.columns, "success": not self.failed,
                "failed": len(self.failed), "warned": len(self.warned),
                "expectations": [o.to_json() for o in self.outcomes]}


@dataclass
class ValidationResult:
    suite: str
    datasets: list[DatasetResult]
    seconds: float = 0.0
    record_id: str | None = None

    @property
    def success(self) -> bool:
        return all(not d.failed for d in self.datasets)

    def failures(self) -> dict[str, list[str]]:
        """Dataset -> the names of its failed `error` expectations (only datasets with one)."""
        return {d.target: [o.expectation.name for o in d.failed] for d in self.datasets if d.failed}

    def failure_text(self) -> str:
        """``data/raw.csv: not_null(x), x in range; other.csv: ...`` for a gate's message."""
        return "; ".join(f"{target}: {', '.join(names)}" for target, names in self.failures().items())

    def counts(self) -> dict:
        outcomes = [o for d in self.datasets for o in d.outcomes]
        failed = sum(len(d.failed) for d in self.datasets)
        warned = sum(len(d.warned) for d in self.datasets)
        return {"expectations": len(outcomes), "passed": len(outcomes) - failed - warned,
                "failed": failed, "warned": warned}

    def to_html(self, generated_at: str | None = None) -> str:
        """The self-contained HTML report (`--report`; report.py)."""
        return report.render(self, generated_at)

    def to_json(self) -> dict:
        return {"id": self.record_id, "suite": self.suite, "success": self.success, **self.counts(),
                "seconds": self.seconds, "datasets": [d.to_json() for d in self.datasets]}
