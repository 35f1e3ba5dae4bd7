"""`mlctl monitor performance NAME --labels FILE`: how each version does on live traffic.

Late labels are joined to the prediction log by request id; every version that served
(primary or canary) or shadowed gets its live metrics next to the figure it had at
validation (the holdout metrics recorded when it was evaluated, else its run's metric), so
a canary A/B test reads straight off the table. Production is judged against the policy's
``performance_floor``; with ``rollback=True`` a production below the floor (on at least
``min_rows`` labelled predictions) is moved back to its previous version, recorded in the
history with the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.errors import UsageError
from mlctl.retrain import labels as live
from mlctl.retrain.policy import load_policy, policy_path
from mlctl.retrain.policy_types import LOWER_IS_BETTER, POLICY_FILE, Floor

OK, DEGRADED, TOO_FEW, NO_LABELS, NO_FLOOR = "ok", "degraded", "too-few-labels", "no-labels", "no-floor"


@dataclass
class PerformanceReport:
    model: str
    target: str
    task: str
    metric: str
    labels: dict
    versions: list = field(default_factory=list)
    production: dict | None = None
    rollback: dict | None = None

    @property
    def degraded(self) -> bool:
        return bool(self.production) and self.production["status"] == DEGRADED

    def to_json(self) -> dict:
        return {"model": self.model, "target": self.target, "task": self.task, "metric": self.metric,
                "labels": self.labels, "versions": self.versions, "production": self.production,
                "degraded": self.degraded, "rollback": self.rollback}


def performance(repo, name: str, labels_path, policy_file: str | None = None, target: str | None = None,
                since=None, rollback: bool = False) -> PerformanceReport:
    from mlctl.retrain.records import history, production_version
    from mlctl.predlog.api import read_predictions

    floor, target = _settings(repo, name, policy_file, target)
    if rollback and floor is None:
        raise UsageError("--rollback-on-degrade needs a performance_floor in the retrain policy",
                         hint="e.g. performance_floor: {metric: accuracy, min: 0.8}")
    production = production_version(repo, name)
    table = live.read_labels(labels_path, target)
    joined = live.join(read_predictions(repo, name, since), table)
    _check_matched(joined, labels_path, name, since)
    task = live.task_of(production, table["label"])
    metric = floor.metric if floor else ("accuracy" if task == "classification" else "rmse")
    report = PerformanceReport(name, target, task, metric, {
        "path": str(labels_path), "rows": joined.labels, "matched": joined.matched, "unmatched": joined.unmatched,
        "ambiguous": joined.ambiguous, "since": None if since is None else str(since)})
    entries = history(repo, name)
    report.versions = _versions(repo, name, joined.frame, task, metric, entries)
    report.production = _judge(production, joined.frame, task, floor, metric)
    if rollback and report.degraded:
        report.rollback = _roll_back(repo, name, report)
    return report


def _check_matched(joined, labels_path, name: str, since) -> None:
    if not joined.labels or len(joined.frame):
        return
    if joined.ambiguous:
        raise UsageError(f"none of the labels in {labels_path} can be joined: {joined.ambiguous} name requests that "
                         "predicted several rows", hint="add an `instance` column (the row's position in its request)")
    window = f" since {since}" if since else ""
    raise UsageError(f"none of the {joined.labels} labels in {labels_path} matches a prediction of {name}{window}",
                     hint="labels join the prediction log on request_id (the X-Request-ID of /predict)")


def _settings(repo, name: str, policy_file: str | None, target: str | None) -> tuple[Floor | None, str]:
    """The floor and target from the policy (given, or retrain.yaml when it is this model's)."""
    policy = None
    if policy_file is not None or policy_path(repo, None).is_file():
        policy = load_policy(repo, policy_file)
        if policy.model != name:
            if policy_file is not None:
                raise UsageError(f"{policy.path} is the retrain policy of model {policy.model!r}, not {name!r}")
            policy = None  # the repository's retrain.yaml is about another model
    target = target or (policy.target if policy else None)
    if not target:
        raise UsageError(f"which column of the labels is the target? no {POLICY_FILE} for {name}",
                         hint="pass --target COL, or --policy FILE with evaluate.target")
    return (policy.performance_floor if policy else None), target


def _versions(repo, name: str, frame, task: str, metric: str, entries: list[dict]) -> list[dict]:
    from mlctl.registry.api import get_aliases

    aliases = get_aliases(repo, name)
    out = []
    if frame is None or not len(frame):
        return out
    for (number, role), rows in frame.groupby(["version", "role"], sort=True):
        version = _version(repo, name, int(number))
        figures = live.live_metrics(task, rows["label"].tolist(), rows["prediction"].tolist(),
                                    live.positive_class(version))
        value, source = validation_figure(version, metric, entries)
        live_value = figures.get(metric)
        out.append({"version": int(number), "role": role,
                    "aliases": sorted(a for a, v in aliases.items() if v == int(number)),
                    "labelled": len(rows), "metrics": figures, "live": live_value,
                    "validation": value, "validation_source": source,
                    "delta": None if live_value is None or value is None else live_value - value})
    return out


def _version(repo, name: str, number: int):
    from mlctl.errors import NotFoundError
    from mlctl.registry.api import get_version

    try:
        return get_version(repo, f"{name}:{number}")
    except NotFoundError:  # deleted since it served
        return None


def validation_figure(version, metric: str, entries: list[dict]) -> tuple[float | None, str | None]:
    """What the version scored before it went live: the holdout metric measured when it was
    evaluated (promotion or retrain), else its run's metric."""
    if version is None:
        return None, None
    for entry in reversed(entries):
        measured = _measured(entry, version.version)
        if measured and isinstance(measured.get(metric), (int, float)):
            return float(measured[metric]), f"holdout {entry.get('action')} #{entry.get('seq')}"
    value = (version.metrics or {}).get(metric)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), f"run {version.run_id}" if version.run_id else "registration"
    return None, None


def _measured(entry: dict, number: int) -> dict | None:
    if entry.get("action") == "promote" and entry.get("to") == number and entry.get("eval"):
        return entry["eval"].get("metrics")
    info = entry.get("retrain")
    if isinstance(info, dict) and info.get("candidate") == number:
        return (info.get("metrics") or {}).get("candidate")
    return None


def _judge(production, frame, task: str, floor: Floor | None, metric: str) -> dict | None:
    """Production's live figure over every row it served (primary and canary, not shadow)."""
    if production is None:
        return None
    served = frame[(frame["version"] == production.version) & (frame["role"] != "shadow")]
    figures = live.live_metrics(task, served["label"].tolist(), served["prediction"].tolist(),
                                live.positive_class(production))
    labelled, value = len(served), figures.get(metric)
    out = {"version": production.version, "spec": production.spec, "labelled": labelled, "live": value,
           "floor": None if floor is None else {"metric": floor.metric, "bound": floor.bound, "text": floor.text(),
                                                "min_rows": floor.min_rows}}
    if not labelled:
        out["status"] = NO_LABELS
    elif floor is None:
        out["status"] = NO_FLOOR
    elif labelled < floor.min_rows:
        out["status"] = TOO_FEW
    else:
        out["status"] = DEGRADED if floor.breached(value) else OK
    return out


def _roll_back(repo, name: str, report: PerformanceReport) -> dict:
    from mlctl.registry.api import AliasMoved, rollback

    prod = report.production
    direction = "above" if report.metric in LOWER_IS_BETTER else "below"
    reason = (f"monitor performance: live {report.metric} {prod['live']:.4g} {direction} the floor "
              f"({prod['floor']['text']}) on {prod['labelled']} labelled predictions")
    try:
        entry = rollback(repo, name, alias="production", reason=reason, expect_version=prod["version"],
                         extra={"performance": {"metric": report.metric, "live": prod["live"],
                                                "labelled": prod["labelled"], "floor": prod["floor"]}})
    except AliasMoved as exc:
        return {"done": False, "why": exc.message}
    return {"done": True, "from": entry["from"], "to": entry["to"], "seq": entry["seq"], "reason": reason}
