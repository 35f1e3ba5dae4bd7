"""Retraining's door: `mlctl retrain`, `monitor performance`, `model approve|reject`.
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "retrain": "retrain",
    "performance": "live_performance",
    "approve": "approval",
    "reject": "approval",
    "pending_summary": "approval",
    "schedule_for": "schedule",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
