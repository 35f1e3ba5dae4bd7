"""Retrain a model when its inputs drift or its data changes; promote it only if it beats production."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Retrain a model when its inputs drift or its data changes; promote it only if it beats "
                     "production.", group=False)


@app.command("retrain")
def retrain(name: str = typer.Argument(None, help="Model name (default: the policy's `model`)."),
            policy: str = typer.Option(None, "--policy", metavar="FILE",
                                       help="Retrain policy (default: retrain.yaml at the repository root)."),
            dry_run: bool = typer.Option(False, "--dry-run", help="Say what it would do and why; change nothing."),
            force: bool = typer.Option(False, "--force",
                                       help="Retrain now: skip the drift check and the cooldown, rerun the stages."),
            print_schedule: bool = typer.Option(False, "--print-schedule",
                                                help="Print a crontab line and GitHub Actions / GitLab CI jobs."),
            cron: str = typer.Option(None, "--cron", metavar="EXPR",
                                     help='Schedule for --print-schedule (default "17 2 * * *", nightly).'),
            on_decision: str = typer.Option(None, "--on-decision", metavar="CMD",
                                            help="After a decision that trained, run CMD with the JSON result on stdin."),
            webhook: str = typer.Option(None, "--webhook", metavar="URL",
                                        help="After a decision that trained, POST the JSON result (with a Slack 'text')."),
            as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Check drift and new data; if triggered, run the pipeline, register, evaluate against
    production on the same holdout, and promote only if every gate passes and it improves
    enough (with `approval: required`, record it as awaiting `mlctl model approve`). Exit 0
    nothing to do, promoted or awaiting approval, 1 rejected or failed, 2 bad policy, 3
    another retrain is running."""
    from mlctl.cli.commands import _retrain_view as view

    if print_schedule:
        return view.print_schedule(common.repo(), name, policy, cron, as_json)
    if cron is not None:
        from mlctl.errors import UsageError

        raise UsageError("--cron goes with --print-schedule")
    from mlctl.retrain.api import retrain as core

    result = core(common.repo(), name, policy, dry_run=dry_run, force=force, say=render.info,
                  on_decision=on_decision, webhook=webhook)
    for kind, outcome in result.notifications.items():
        if not outcome.get("ok"):
            render.warn(f"{kind.replace('_', '-')} notification failed: {outcome.get('error')}")
    if as_json:
        render.emit_json(result.to_json())
    else:
        view.show_retrain(result)
    return result.exit_code
