"""Retraining's part in `mlctl status` (light imports only): the last decision of the
model named in retrain.yaml, and whether a retrain is running right now."""

from __future__ import annotations

from mlctl.errors import MlctlError


def status_section(repo) -> dict | None:
    from mlctl.retrain.policy import POLICY_FILE, load_policy

    if not (repo.root / POLICY_FILE).is_file():
        return None
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
