"""Watch models in production: input drift, and live performance from late labels."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Watch models in production: input drift, and live performance from late labels.")

METHOD_HELP = "auto|ks|chi2|psi|wasserstein|jensenshannon (auto: per column, see docs/monitoring.md)."


@app.command("drift")
def drift(reference: str = typer.Option(..., "--reference", metavar="REF",
                                        help="CSV/parquet file, tracked path[@REV], or predictions:MODEL."),
          current: str = typer.Option(..., "--current", metavar="CUR", help="Same forms as --reference."),
          columns: str = typer.Option(None, "--columns", metavar="C,...", help="Only these columns."),
          target: str = typer.Option(None, "--target", metavar="COL", help="The label column (target drift, performance)."),
          prediction: str = typer.Option(None, "--prediction", metavar="COL", help="The prediction column (default: prediction)."),
          method: str = typer.Option(None, "--method", help=METHOD_HELP),
          threshold: float = typer.Option(None, "--threshold", help="For the one --method given, on its own scale."),
          drift_share: float = typer.Option(None, "--drift-share", help="Dataset drift when this share of columns drifted (default 0.5)."),
          config: str = typer.Option(None, "--config", metavar="FILE.yaml", help="Per-column methods and thresholds."),
          since: str = typer.Option(None, "--since", help="predictions: rows newer than this (7d, 12h, or an ISO time)."),
          model: str = typer.Option(None, "--model", help="Record the check under this model (default: from predictions:MODEL)."),
          report: str = typer.Option(None, "--report", metavar="FILE.html", help="Write a self-contained HTML report."),
          on_drift: str = typer.Option(None, "--on-drift", metavar="CMD", help="On dataset drift, run CMD with the JSON verdict on stdin."),
          webhook: str = typer.Option(None, "--webhook", metavar="URL",
                                      help="On dataset drift, POST the JSON verdict (with a Slack 'text')."),
          memory: str = typer.Option(None, "--memory", metavar="SIZE",
                                     help="Stay under this much memory (4GB), spilling to disk; same results. "
                                          "Default: config core.memory."),
          as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Compare current data with reference data; exit 1 on dataset drift."""
    from mlctl.monitoring.api import run_drift_check

    repo = common.repo_or_none()  # two plain files compare anywhere, like Evidently
    with render.progress("comparing columns") as bar:
        check = run_drift_check(
            repo, reference, current, columns=_split(columns), target=target, prediction=prediction,
            method=method, threshold=threshold, drift_share=drift_share, config_path=config, since=since,
            model=model, report=report, on_drift=on_drift, webhook=webhook,
            on_column=lambda name: bar.advance(), memory=memory)
    _warn_alerts(check.alerts)
    if as_json:
        render.emit_json(check.verdict)
    else:
        _show(check, report)
    if check.record is None:
        render.info("mlctl: nothing recorded: not inside an mlctl repository")
    return common.found(check.result.dataset_drift)


def _split(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _show(check, report: str | None) -> None:
    from mlctl.monitoring.api import columns_table, summary_lines

    render.table(*columns_table(check.result))
    for line in summary_lines(check.result, check.record, report):
        render.echo(line)


def _warn_alerts(sent: dict) -> None:
    for kind, outcome in sent.items():
        if not outcome.get("ok"):
            render.warn(f"{kind.replace('_', '-')} alert failed: {outcome.get('error')}")


@app.command("performance")
def performance(name: str = typer.Argument(..., help="Model name."),
                labels: str = typer.Option(..., "--labels", metavar="FILE",
                                           help="CSV/parquet with request_id (and instance) and the target column."),
                rollback_on_degrade: bool = typer.Option(False, "--rollback-on-degrade",
                                                         help="Move production back when it is below the policy's floor."),
                policy: str = typer.Option(None, "--policy", metavar="FILE",
                                           help="Retrain policy with evaluate.target and performance_floor "
                                                "(default: retrain.yaml)."),
                target: str = typer.Option(None, "--target", metavar="COL", help="The label column (default: the policy's)."),
                since: str = typer.Option(None, "--since", help="Only predictions newer than this (7d, 12h, or an ISO time)."),
                as_json: bool = common.json_option()) -> int:
    """Live accuracy per version from late labels, against each version's validation
    figure; exit 1 when production is below the policy's performance floor."""
    from mlctl.cli.commands._retrain_view import show_performance
    from mlctl.retrain.api import performance as core

    report = core(common.repo(), name, labels, policy_file=policy, target=target, since=since,
                  rollback=rollback_on_degrade)
    if as_json:
        render.emit_json(report.to_json())
    else:
        show_performance(report)
    return common.found(report.degraded)
