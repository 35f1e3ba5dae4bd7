"""Run, check and show the cached, parallel stage pipeline of pipeline.yaml."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Run, check and show the cached, parallel stage pipeline of pipeline.yaml.")

STAGES_ARG = typer.Argument(None, metavar="[STAGE]...",
                            help="Stages (or sweep instances, train@lr=0.1) to bring up to date, with what they need (default: all).")
DRY_RUN_LABELS = {"ok": "skip (up to date)", "restore": "restore from run-cache", "run": "run"}
STATUS_LABELS = {"ok": "up to date", "restore": "stale, cached", "run": "stale"}


@app.command("run")
def run(stages: list[str] = STAGES_ARG,
        force: bool = typer.Option(False, "--force", "-f", help="Run every selected stage, even if up to date or cached."),
        dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Print the plan and why each stage would run; change nothing."),
        jobs: int = typer.Option(0, "-j", "--jobs", min=0, help="Independent stages at once (default: pipeline.jobs, else CPU count)."),
        verbose: bool = typer.Option(False, "-v", "--verbose", help="Stream every stage's output to stderr, prefixed by its name."),
        executor: str = typer.Option(None, "--executor", metavar="local|ray",
                                     help="Where stage commands run (default: pipeline.executor, else local)."),
        address: str = typer.Option(None, "--address", metavar="ray://HOST:PORT|auto",
                                    help="The Ray cluster for --executor ray (default: pipeline.ray_address, else Ray's own)."),
        quiet: bool = common.quiet_option(),
        as_json: bool = common.json_option()) -> int:
    """Bring stages up to date: skip, restore from the run-cache, or run; exit 1 if a stage failed."""
    if dry_run:
        from mlctl.pipeline.api import dry_run as core_dry_run

        items = core_dry_run(common.repo(), stages or (), force=force)
        _emit_plan(items, as_json, "action", DRY_RUN_LABELS)
        return 0
    from mlctl.cli.commands._pipeline_view import make_observer, print_summary
    from mlctl.pipeline.api import run as core_run

    observer = make_observer(verbose=verbose)
    with observer:
        report = core_run(common.repo(), stages or (), force=force, jobs=jobs or None, observer=observer,
                          executor=executor, address=address)
    if as_json:
        render.emit_json(report.to_json())
    else:
        print_summary(report, live=observer.live)
    return 130 if report.interrupted else common.found(not report.ok)


@app.command("status")
def status(stages: list[str] = STAGES_ARG, as_json: bool = common.json_option()) -> int:
    """Which stages are stale and the changed input that made each stale; exit 1 if any."""
    from mlctl.pipeline.api import status as core_status

    report = core_status(common.repo(), stages or ())
    if as_json:
        render.emit_json(report.to_json())
    else:
        _emit_plan(report.items, False, "state", STATUS_LABELS)
        render.info(f"{len(report.stale)} of {len(report.items)} stages stale" if report.stale else "all stages up to date")
    return common.found(bool(report.stale))


@app.command("show")
def show(mermaid: bool = typer.Option(False, "--mermaid", help="Print a mermaid flowchart instead of the tree."),
         as_json: bool = common.json_option()) -> int:
    """The DAG: an indented tree of stages and their dependents, mermaid text, or --json."""
    from mlctl.pipeline import api as core

    repo = common.repo()
    pipeline = core.show(repo)
    if as_json:
        render.emit_json(core.show_json(pipeline, core.last_ran(repo)))
    elif mermaid:
        render.echo(core.show_mermaid(pipeline).rstrip("\n"))
    else:
        for line in core.show_tree(pipeline):
            render.echo(line)
    return 0


@app.command("log")
def log(stage: str = typer.Argument(..., help="The stage whose latest log to print."),
        tail: int = typer.Option(0, "--tail", "-n", min=0, help="Only the last N lines."),
        as_json: bool = common.json_option()) -> int:
    """Print the log of the last time STAGE ran (kept under .mlctl/logs/pipeline/)."""
    from mlctl.pipeline.api import stage_log

    entry = stage_log(common.repo(), stage, tail or None)
    if as_json:
        render.emit_json(entry)
    else:
        render.echo("\n".join(entry["lines"]))
    return 0


def _emit_plan(items, as_json: bool, column: str, labels: dict) -> None:
    if as_json:
        render.emit_json({"dry_run": True, "stages": [item.to_json() for item in items]})
        return
    render.table(["stage", column, "why"],
                 [(i.stage, labels[i.action], "; ".join(r.text() for r in i.reasons)) for i in items])


REMOTE_OPT = typer.Option(None, "-r", "--remote", help="Remote name (default: core.default_remote).")
JOBS_OPT = typer.Option(0, "-j", "--jobs", min=0, help="Parallel transfers.")


@app.command("push")
def push(remote: str = REMOTE_OPT, jobs: int = JOBS_OPT, as_json: bool = common.json_option()) -> int:
    """Send the run-cache (entries and their outputs) to a remote, so other clones restore instead of rerun."""
    from mlctl.pipeline.api import push as core_push

    return _emit_sync(core_push(common.repo(), remote, jobs or None), "sent", as_json)


@app.command("pull")
def pull(remote: str = REMOTE_OPT, jobs: int = JOBS_OPT, as_json: bool = common.json_option()) -> int:
    """Fetch the run-cache entries (and their outputs) that a remote has and this clone lacks."""
    from mlctl.pipeline.api import pull as core_pull

    return _emit_sync(core_pull(common.repo(), remote, jobs or None), "received", as_json)


def _emit_sync(result, verb: str, as_json: bool) -> int:
    if as_json:
        render.emit_json(result.to_json())
        return 0
    render.echo(f"{verb} {result.entries} run-cache entries ({result.objects} objects) via {result.remote}")
    for skipped in result.skipped:
        render.warn(f"skipped {skipped['stage'] or 'entry'} {skipped['fingerprint'][:12]}: {skipped['reason']}")
    return 0
