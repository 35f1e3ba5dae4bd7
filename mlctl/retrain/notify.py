"""Telling people about a retrain's decision: ``--on-decision CMD`` / ``notify.on_decision``
(the decision as JSON on stdin) and ``--webhook URL`` / ``notify.webhook`` (POSTed, with a
Slack-style ``text``), exactly as drift alerts are sent (monitoring/alerts.py).

Every decision that trained is sent (awaiting approval, promoted, rejected, failed); a
no-op and a dry run are not. A failed notification never changes the decision: it is
reported in ``notifications`` and as a warning.
"""

from __future__ import annotations

import json

from mlctl.jsonsafe import json_safe
from mlctl.monitoring import api as alerts
from mlctl.retrain import decide


def check_webhook(url: str | None) -> None:
    if url:
        alerts.check_webhook_url(url)


def notify(result, on_decision: str | None, webhook: str | None) -> dict:
    """Send the decision; returns {"on_decision": outcome, "webhook": outcome} for those sent."""
    if result.dry_run or result.outcome in ("", decide.NOOP) or not (on_decision or webhook):
        return {}
    payload = json_safe(result.to_json())
    sent = {}
    if on_decision:
        sent["on_decision"] = alerts.run_command(on_decision, json.dumps(payload, allow_nan=False))
    if webhook:
        sent["webhook"] = alerts.post_webhook(webhook, {"text": text(result), **payload})
    return sent


def text(result) -> str:
    """One line a person reads in a chat channel."""
    line = f"Retrain of {result.model}: {result.outcome}. {result.message}"
    if result.outcome == decide.AWAITING:
        spec = result.spec(result.candidate)
        line += f" Approve: `mlctl model approve {spec}`; reject: `mlctl model reject {spec} --reason ...`"
    return line
