"""The human step of ``approval: required``: pending candidates, `mlctl model approve|reject`.

A retrain whose candidate passes the gates records ``retrain-await-approval`` (it moves
nothing) with the comparison, and the candidate waits. It is pending while no later
``approve``/``reject`` entry answers it, it still exists, and production is not it already.

- approve: judged again by the same policy (gates and min_improvement, on the same holdout)
  against production as it is now (it may have moved since); if it passes, production moves
  to it in one alias move (action ``approve``) that records who approved and why; if not,
  nothing moves (exit 1) and it stays pending.
- reject: an entry ``reject`` that moves nothing, with who and why.

Both hold the model's retrain lock, so a retrain and an approval never decide at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.errors import MlctlError, UsageError
from mlctl.registry.api import actor as registry_actor
from mlctl.retrain import compare, records
from mlctl.retrain.decide import AWAITING
from mlctl.retrain.policy import resolve_policy
from mlctl.retrain.policy_types import POLICY_FILE

AWAIT = records.ACTIONS[AWAITING]


@dataclass
class Approval:
    """What `model approve|reject` did."""

    spec: str
    decision: str                       # approved | rejected | not-approved (gates failed now)
    reason: str
    actor: str
    production_before: int | None = None
    production_after: int | None = None
    comparison: object = None           # compare.Comparison (approve only)
    failures: list = field(default_factory=list)
    entry: dict | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.decision == "not-approved" else 0

    def to_json(self) -> dict:
        return {"spec": self.spec, "decision": self.decision, "reason": self.reason, "actor": self.actor,
                "production": {"before": self.production_before, "after": self.production_after},
                "evaluation": self.comparison.to_json() if self.comparison else None,
                "failures": self.failures, "history_entry": self.entry.get("seq") if self.entry else None}


def pending(repo, model: str) -> list[dict]:
    """The model's candidates awaiting approval, oldest first: their await entries."""
    from mlctl.registry.api import read_index

    waiting: dict[int, dict] = {}
    for entry in records.history(repo, model):
        version = entry.get("to")
        if entry.get("action") == AWAIT and version is not None:
            waiting[int(version)] = entry
        elif entry.get("action") in (records.APPROVE, records.REJECT) and version is not None:
            waiting.pop(int(version), None)
    if not waiting:
        return []
    existing = read_index(repo, model)["versions"]
    production = records.production_version(repo, model)
    live = production.version if production else None
    return [e for v, e in sorted(waiting.items()) if str(v) in existing and v != live]


def pending_summary(repo, model: str) -> list[dict]:
    """Pending approvals as `mlctl status` and the dashboard list them."""
    out = []
    for entry in pending(repo, model):
        metrics = (entry.get("eval") or {})
        out.append({"model": model, "version": entry["to"], "spec": f"{model}:{entry['to']}",
                    "since": entry.get("time"), "production": entry.get("from"), "reason": entry.get("reason"),
                    "metrics": metrics.get("metrics"), "production_metrics": metrics.get("incumbent_metrics")})
    return out


def approve(repo, spec: str, reason: str | None = None, actor: str | None = None) -> Approval:
    from mlctl.registry.api import AliasMoved

    version, awaited = _awaiting(repo, spec)
    who = registry_actor(actor)["actor"]
    with records.retrain_lock(repo, version.name):
        version, awaited = _awaiting(repo, spec)  # again, under the lock
        policy = resolve_policy(repo, version.name, _policy_arg(repo, awaited))
        production = records.production_version(repo, version.name)
        before = production.version if production else None
        result = Approval(version.spec, "not-approved", reason or "", who, before, before)
        result.comparison = compare.compare(repo, policy, version, production)
        if not result.comparison.promote:
            result.failures = result.comparison.failures
            return result
        why = f"approved by {who}" + (f": {reason}" if reason else "")
        try:
            result.entry = records.promote(repo, version.name, version.version, before, why, None,
                                           result.comparison, action=records.APPROVE,
                                           extra={"approval": _answer("approved", who, reason, awaited)})
        except AliasMoved as exc:
            result.failures = [exc.message]
            return result
    result.decision, result.production_after = "approved", version.version
    return result


def reject(repo, spec: str, reason: str, actor: str | None = None) -> Approval:
    from mlctl.registry.api import record_event

    if not reason or not reason.strip():
        raise UsageError("a rejection needs --reason", hint="say why, for the model's history")
    version, awaited = _awaiting(repo, spec)
    who = registry_actor(actor)["actor"]
    with records.retrain_lock(repo, version.name):
        version, awaited = _awaiting(repo, spec)
        entry = record_event(repo, version.name, records.REJECT, alias=records.ALIAS, version=version.version,
                             reason=f"rejected by {who}: {reason}", actor=actor,
                             extra={"approval": _answer("rejected", who, reason, awaited)})
    before = entry.get("from")
    return Approval(version.spec, "rejected", reason, who, before, before, entry=entry)


def _awaiting(repo, spec: str):
    """(version, its await entry); exit 2 when the version is not awaiting approval."""
    from mlctl.registry.api import require_version
    from mlctl.registry.api import get_version

    version = get_version(repo, require_version(spec))
    entry = next((e for e in pending(repo, version.name) if int(e["to"]) == version.version), None)
    if entry is None:
        raise UsageError(f"{version.spec} is not awaiting approval",
                         hint="only a candidate of an `approval: required` retrain is; `mlctl status` lists them")
    return version, entry


def _policy_arg(repo, awaited: dict) -> str | None:
    """The policy the retrain used: the default file, or the --policy it was given, taken
    relative to the repository root. The history may come from a remote, so the path goes
    through the checked resolver: nothing outside the repository, nothing in .git/.mlctl."""
    path = (awaited.get("retrain") or {}).get("policy")
    if path in (None, POLICY_FILE):
        return None
    try:
        if ".git" in str(path).split("/"):
            raise UsageError(path)
        return str(repo.workspace_path(path))
    except MlctlError:
        raise UsageError(f"the retrain that made this candidate used the policy {path!r}, which is not a file "
                         "inside the repository", hint="approve or reject it from the repository root") from None


def _answer(decision: str, who: str, reason: str | None, awaited: dict) -> dict:
    return {"decision": decision, "by": who, "reason": reason, "awaited": awaited.get("seq"),
            "awaited_since": awaited.get("time")}
