"""Monitoring in `mlctl status`, gc and fsck (light imports only: json and sqlite).

gc keeps the stored drift reports (the prediction log keeps its own: mlctl/predlog/plugin.py).
"""

from __future__ import annotations

from mlctl.store.times import NS, human_age, now_ns, parse_time_ns


STATUS_KEY = ("drift", "Drift")  # its section when it cannot be read (store/status.py)


def status_section(repo) -> dict | None:
    from mlctl.monitoring.records import latest_check

    last = latest_check(repo)
    if last is None:
        return {"key": "drift", "title": "Drift", "lines": ["no drift check yet"], "json": None}
    verdict = "DRIFT" if last["dataset_drift"] else "no drift"
    drifted = last["drifted_columns"]
    detail = f"{last['number_of_drifted_columns']}/{last['number_of_columns']} columns drifted"
    if drifted:
        detail += ": " + ", ".join(drifted[:5]) + (" ..." if len(drifted) > 5 else "")
    lines = [f"last check {_ago(last['time'])}: {verdict} ({detail})",
             f"{last['reference']} -> {last['current']}" + (f" (model {last['model']})" if last["model"] else "")]
    return {"key": "drift", "title": "Drift", "lines": lines, "json": last}


def _ago(iso: str) -> str:
    return human_age((now_ns() - parse_time_ns(iso, "drift check time")) / NS)


def gc_roots(repo):
    from mlctl.monitoring.records import report_objects

    yield from report_objects(repo)


def fsck_refs(repo):
    from mlctl.monitoring.records import report_objects

    from mlctl.store.elsewhere import absent_problems

    yield from absent_problems(repo, [("drift report", digest, "`mlctl pull` fetches it")
                                      for digest in report_objects(repo) if not repo.objects.exists(digest)])
