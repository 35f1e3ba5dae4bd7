"""Validation in `mlctl status` (light imports only: json and sqlite)."""

from __future__ import annotations

from mlctl.validation.records import latest_validation


def status_section(repo) -> dict | None:
    last = latest_validation(repo)
    if last is None:
        return None  # no section until the first validation: most repositories have none
    verdict = "passed" if last["success"] else "FAILED"
    detail = f"{last['failed']} failed, {last['warned']} warned of {last['expectations']}"
    lines = [f"last validation {last['time'].replace('T', ' ')[:16]} UTC: {verdict} ({detail})",
             ", ".join(last["targets"]) + f" (suite {last['suite']})"]
    failing = last["failed_expectations"]
    if failing:
        lines.append("failed: " + "; ".join(failing[:3]) + (" ..." if len(failing) > 3 else ""))
    return {"key": "validation", "title": "Validation", "lines": lines, "json": last}
