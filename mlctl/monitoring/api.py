"""Monitoring's door: `monitor drift` and what retraining reuses of it.

    run_drift_check (`monitor drift`), compute_drift, record_check/get_check/list_checks,
    open_source/open_file (drift sources), the alert senders, and the text views.
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "run_drift_check": "check",
    "compute_drift": "drift",
    "record_check": "records",
    "get_check": "records",
    "list_checks": "records",
    "push_reports": "reports_share",
    "pull_reports": "reports_share",
    "open_source": "sources",
    "open_file": "sources",
    "check_webhook_url": "alerts",
    "post_webhook": "alerts",
    "run_command": "alerts",
    "columns_table": "textview",
    "summary_lines": "textview",
    "category_key": "columns",
    "task_of": "quality",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
