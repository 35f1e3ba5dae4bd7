"""The decisions of a retrain as pure functions: cooldown, whether to retrain, whether the
candidate beats production, which old versions to prune. No I/O here, so every rule is
unit-tested directly (tests/retrain/test_decide.py)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from mlctl.store.times import human_duration, parse_time, shown_time

# outcomes of a retrain
NOOP, PROMOTED, REJECTED, FAILED = "no-op", "promoted", "rejected", "failed"
AWAITING = "awaiting-approval"  # `approval: required`: passed, waits for `mlctl model approve`
RETRAINED = (PROMOTED, REJECTED, FAILED, AWAITING)   # the pipeline ran: these count for the cooldown
EXIT_CODES = {NOOP: 0, PROMOTED: 0, REJECTED: 1, FAILED: 1, AWAITING: 0}


@dataclass
class Trigger:
    """One reason to retrain, checked: ``fired`` says whether it calls for a retrain."""

    name: str                   # drift | new_data | no_production | forced
    enabled: bool
    fired: bool
    summary: str                # one human line
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"name": self.name, "enabled": self.enabled, "fired": self.fired, "summary": self.summary,
                **self.detail}


@dataclass
class Cooldown:
    seconds: float
    last: str | None            # ISO time of the last retrain (the pipeline ran), if any
    remaining: float            # seconds until a retrain is allowed again (0 = now)

    @property
    def active(self) -> bool:
        return self.remaining > 0

    def next_allowed(self, now: dt.datetime) -> str | None:
        if not self.active:
            return None
        return (now + dt.timedelta(seconds=self.remaining)).isoformat(timespec="seconds")

    def to_json(self, now: dt.datetime) -> dict:
        return {"seconds": self.seconds, "last_retrain": self.last, "active": self.active,
                "remaining_seconds": round(self.remaining, 3), "next_allowed": self.next_allowed(now)}


def cooldown_state(seconds: float, last: str | None, now: dt.datetime) -> Cooldown:
    """The cooldown after a retrain at ``last`` (ISO time); a last time in the future (a
    skewed clock elsewhere) counts as now, so it can delay but never block forever."""
    if not last or seconds <= 0:
        return Cooldown(seconds, last, 0.0)
    then = parse_time(last, "last retrain time")
    elapsed = max(0.0, (now - then).total_seconds())
    return Cooldown(seconds, last, max(0.0, seconds - elapsed))


def last_retrain(entries: list[dict]) -> dict | None:
    """The newest history entry of a retrain whose pipeline ran (promoted, rejected, failed)."""
    for entry in reversed(entries):
        info = entry.get("retrain")
        if isinstance(info, dict) and info.get("outcome") in RETRAINED:
            return entry
    return None


def should_retrain(triggers: list[Trigger], cooldown: Cooldown, force: bool) -> tuple[bool, str]:
    """(retrain?, why) given the checked triggers. --force retrains regardless; otherwise a
    fired trigger retrains unless the cooldown is on."""
    if force:
        return True, "forced (--force): drift check and cooldown skipped"
    fired = [t for t in triggers if t.fired]
    if not fired:
        return False, "; ".join(t.summary for t in triggers) or "no trigger is enabled in the policy"
    if cooldown.active:
        return False, (f"{'; '.join(t.summary for t in fired)}; but the cooldown ({human_duration(cooldown.seconds)}) "
                       f"holds: last retrain {shown_time(cooldown.last)}, next allowed in "
                       f"{human_duration(cooldown.remaining)}")
    return True, "; ".join(t.summary for t in fired)


# -- candidate against production ---------------------------------------------------------
def improvement_check(metric: str, candidate, production, delta: float, higher_is_better: bool) -> dict:
    """Does the candidate beat production on ``metric`` by at least ``delta``?"""
    out = {"metric": metric, "candidate": candidate, "production": production, "delta": delta,
           "higher_is_better": higher_is_better, "gain": None, "passed": False}
    if not _number(candidate):
        out["why"] = f"{metric} was not measured for the candidate"
        return out
    if production is None:
        out.update(passed=True, why="no production version to beat")
        return out
    if not _number(production):
        out["why"] = f"{metric} was not measured for production"
        return out
    gain = candidate - production if higher_is_better else production - candidate
    out["gain"] = gain
    # a tiny tolerance so that 0.96 - 0.95 >= 0.01 holds despite binary floating point
    out["passed"] = gain >= delta - 1e-12
    out["why"] = (f"{metric} {candidate:.4g} vs {production:.4g} ({'+' if gain >= 0 else ''}{gain:.4g} "
                  f"{'>=' if out['passed'] else '<'} {delta:g})")
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def verdict(checks: list[dict], improvement: dict) -> tuple[bool, list[str]]:
    """(promote?, the reasons it may not). ``checks`` are gate results with ``gate``,
    ``value`` and ``passed``."""
    failed = []
    for check in checks:
        if not check["passed"]:
            value = check.get("value")
            shown = f"{value:.4g}" if _number(value) else "not measured"
            failed.append(f"gate {check['gate']} failed ({check['metric']} = {shown})")
    if not improvement["passed"]:
        failed.append(f"min_improvement not met: {improvement.get('why')}")
    return not failed, failed


# -- pruning --------------------------------------------------------------------------------
def versions_to_prune(numbers: list[int], protected: set[int], keep: int | None) -> list[int]:
    """The oldest unprotected versions beyond ``keep`` in total. Protected versions
    (aliased, or an alias's rollback target) are never pruned but count towards ``keep``;
    the newest version is always kept."""
    if keep is None or len(numbers) <= keep:
        return []
    ordered = sorted(numbers, reverse=True)
    always = set(protected) | {ordered[0]}
    room = max(0, keep - len(always & set(numbers)))
    kept_unprotected = [n for n in ordered if n not in always][:room]
    keep_set = always | set(kept_unprotected)
    return sorted(n for n in numbers if n not in keep_set)
