"""Retraining's part in `mlctl status` (light imports only): the last decision of the
model named in retrain.yaml, whether a retrain is running right now, and every model's
candidates awaiting approval (`approval: required`)."""

from __future__ import annotations

from mlctl.errors import MlctlError


def status_section(repo) -> dict | None:
    from mlctl.retrain.policy_types import POLICY_FILE

    waiting = pending_approvals(repo)
    if not (repo.root / POLICY_FILE).is_file():
        if not waiting:
            return None
        section = {"key": "retrain", "title": "Retraining", "lines": [],
                   "json": {"model": None, "error": None, "last": None, "decisions": 0, "running": False}}
    else:
        section = _policy_section(repo)
    section["json"]["pending_approvals"] = waiting
    section["lines"] += [f"{p['spec']} awaits approval since {p['since'][:19].replace('T', ' ')}: "
                         f"`mlctl model approve {p['spec']}` or `mlctl model reject {p['spec']} --reason ...`"
                         for p in waiting]
    return section


def pending_approvals(repo) -> list[dict]:
    """Every model's candidates awaiting `mlctl model approve|reject`."""
    from mlctl.registry.api import model_names
    from mlctl.retrain.approval import pending_summary

    return [p for name in model_names(repo) for p in pending_summary(repo, name)]


def _policy_section(repo) -> dict:
    from mlctl.retrain.policy import load_policy

    try:
        policy = load_policy(repo)
    except MlctlError as exc:
        return {"key": "retrain", "title": "Retraining", "lines": [exc.message],
                "json": {"model": None, "error": exc.message, "last": None, "decisions": 0, "running": False}}
    from mlctl.retrain.records import decisions, is_locked

    made = decisions(repo, policy.model)
    last = _last(made[-1]) if made else None
    running = is_locked(repo, policy.model)
    line = f"{policy.model}: " + (f"last decision {last['outcome']} at {last['time'][:19].replace('T', ' ')}"
                                  if last else "no retrain yet")
    if last and last["reason"]:
        line += f": {_brief(last['reason'])}"
    if running:
        line += "; a retrain is running now"
    return {"key": "retrain", "title": "Retraining", "lines": [line],
            "json": {"model": policy.model, "error": None, "last": last, "decisions": len(made), "running": running}}


def _last(entry: dict) -> dict:
    info = entry.get("retrain") or {}
    production = entry.get("to") if entry.get("moved") else entry.get("from")
    return {"time": entry.get("time"), "outcome": info.get("outcome"), "action": entry.get("action"),
            "candidate": info.get("candidate"), "production": production, "reason": entry.get("reason")}


def _brief(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
