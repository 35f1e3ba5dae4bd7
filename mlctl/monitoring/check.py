"""`mlctl monitor drift` as one core function: load both sides, compare, write the report,
record the check, and alert when the dataset drifted.

Like Evidently, two plain files can be compared anywhere: with ``repo=None`` (outside a
repository) the check runs, reports and alerts, and records nothing (``record`` is None).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from mlctl.errors import UsageError
from mlctl.monitoring import alerts, records
from mlctl.monitoring.config import load_config
from mlctl.monitoring.drift import DriftResult, compute_drift
from mlctl.monitoring.sources import open_source
from mlctl.store.memory import memory_cap


@dataclass
class DriftCheck:
    result: DriftResult
    record: dict | None                # None outside a repository: nothing recorded
    verdict: dict                      # strict-JSON-safe: what --json prints and alerts send
    alerts: dict = field(default_factory=dict)


def run_drift_check(repo, reference: str, current: str, *, columns=None, target=None, prediction=None,
                    method=None, threshold=None, drift_share=None, config_path=None, since=None,
                    model=None, report=None, on_drift=None, webhook=None, on_column=None,
                    memory: str | None = None) -> DriftCheck:
    """Everything one drift check does; raises MlctlError on bad input before any write.
    ``memory`` is the cap as the user wrote it (``4GB``; else config ``core.memory``)."""
    cap = memory_cap(repo, memory)
    if webhook:
        alerts.check_webhook_url(webhook)
    cfg = load_config(config_path, {"method": method, "threshold": threshold, "drift_share": drift_share,
                                    "target": target, "prediction": prediction})
    if since is not None and not (_is_log(reference) or _is_log(current)):
        raise UsageError("--since applies to predictions:MODEL inputs only")
    with contextlib.ExitStack() as stack:
        ref = stack.enter_context(open_source(repo, reference, since if _is_log(reference) else None))
        cur = stack.enter_context(open_source(repo, current, since if _is_log(current) else None))
        result = compute_drift(ref, cur, columns=columns, config=cfg, on_column=on_column, memory=cap)
        model = model or cur.model or ref.model
    if report:
        from mlctl.monitoring.report import write_report

        write_report(result, report, title=f"Drift report{f' - {model}' if model else ''}")
    record = None if repo is None else records.record_check(repo, result, reference, current, model=model,
                                                            report_path=report)
    verdict = _json_safe({**result.to_json(), "check": record, "model": model})
    check = DriftCheck(result, record, verdict)
    if result.dataset_drift:
        check.alerts = _alert(verdict, on_drift, webhook)
    check.verdict["alerts"] = check.alerts
    return check


def _is_log(spec: str) -> bool:
    from mlctl.monitoring.sources import PREDICTIONS

    return spec.startswith(PREDICTIONS)


def _alert(verdict: dict, on_drift: str | None, webhook: str | None) -> dict:
    import json

    sent = {}
    if on_drift:
        sent["on_drift"] = alerts.run_command(on_drift, json.dumps(verdict, allow_nan=False))
    if webhook:
        sent["webhook"] = alerts.post_webhook(webhook, {"text": alerts.slack_text(verdict), **verdict})
    return sent


def _json_safe(value):
    from mlctl.jsonsafe import json_safe

    return json_safe(value)
