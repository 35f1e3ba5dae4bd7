"""Track experiment runs: log, list, show, compare, tag, delete, push and pull."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Track experiment runs: log, list, show, compare, tag, delete, push and pull.")

MULTI = None  # typer: a repeatable option defaults to None


@app.command("log", context_settings={"allow_interspersed_args": False})
def log(command: list[str] = typer.Argument(None, metavar="[-- COMMAND ARGS...]", help="Command to run as the run."),
        experiment: str = typer.Option(None, "--experiment", "-e", help="Experiment (default: tracking.experiment or 'default')."),
        name: str = typer.Option(None, "--name", "-n", help="Run name."),
        params: list[str] = typer.Option(MULTI, "-p", "--param", metavar="KEY=VAL",
                                         help="Param; VAL is a YAML scalar (2 is a number, rf a string)."),
        metrics: list[str] = typer.Option(MULTI, "-m", "--metric", metavar="KEY[@STEP]=VAL", help="Metric value (nan and inf allowed)."),
        tags: list[str] = typer.Option(MULTI, "-t", "--tag", metavar="KEY=VAL", help="Tag."),
        artifacts: list[str] = typer.Option(MULTI, "--artifact", "-a", metavar="PATH", help="File or folder to store with the run."),
        data: list[str] = typer.Option(MULTI, "--data", "-d", metavar="PATH",
                                       help="Tracked data the run used (default: all tracked data)."),
        metrics_files: list[str] = typer.Option(MULTI, "--metrics-file", metavar="PATH",
                                                help="JSON/YAML metrics file to read (with a command: after it ends)."),
        id_file: str = typer.Option(None, "--id-file", metavar="PATH", help="Write the run id to PATH."),
        as_json: bool = common.json_option()) -> int:
    """Record a run and print its id; with `-- COMMAND`, run it as the run and exit with its code."""
    from mlctl.tracking import api as core

    spec = core.LogSpec(experiment, name, core.parse_params(params or []), core.parse_metrics(metrics or []),
                        core.parse_tags(tags or []), artifacts or [], data or [], metrics_files or [])
    repo = common.repo()
    if command:
        return _log_command(repo, spec, command, id_file, as_json)
    run = core.log_run(repo, spec)
    if id_file:
        from mlctl.store.atomic import atomic_write_text

        atomic_write_text(id_file, run.id + "\n")
    render.emit_json(run.to_json()) if as_json else render.echo(run.id)
    return 0


def _log_command(repo, spec, command: list[str], id_file: str | None, as_json: bool) -> int:
    from mlctl.errors import UsageError
    from mlctl.tracking.api import run_command

    if as_json:
        raise UsageError("--json cannot be used with a command (its stdout passes through)",
                         hint="use --id-file and `mlctl run show ID --json`")
    result = run_command(repo, spec, command, id_file=id_file)
    if result.error:
        render.error_line(result.error)
    for problem in result.problems:
        render.error_line(problem)
    render.info(f"mlctl: run {result.run_id} {result.status} (exit {result.exit_code}, {result.duration:.1f}s)")
    if result.problems and result.exit_code == 0:
        return 2
    return result.exit_code


@app.command("list")
def list_(experiment: str = typer.Option(None, "--experiment", "-e", help="Only this experiment."),
          filter_expr: str = typer.Option(None, "--filter", "-f", metavar="EXPR",
                                          help="e.g. \"metrics.acc > 0.9 and params.model == 'rf'\"."),
          sort: list[str] = typer.Option(MULTI, "--sort", "-s", metavar="[-]KEY",
                                         help="Sort key, e.g. -metrics.acc (descending); repeatable."),
          limit: int = typer.Option(1000, "--limit", "-l", min=0, help="At most N runs (0: all)."),
          offset: int = typer.Option(0, "--offset", min=0, help="Skip the first N runs."),
          columns: str = typer.Option(None, "--columns", "-c", metavar="COL,...",
                                      help="Table columns, e.g. id,status,params.C,metrics.acc."),
          deleted: bool = typer.Option(False, "--deleted", help="List deleted runs instead."),
          as_json: bool = common.json_option()) -> int:
    """List runs, newest first: filter, sort, limit."""
    from mlctl.tracking import api as core

    repo = common.repo()
    asked = core.check_columns(columns) if columns else None  # checked even with --json, like --sort
    found = core.list_runs(repo, experiment, filter_expr, sort or None, limit or None, offset, deleted_only=deleted)
    if as_json:
        core.fetch_trees(repo, [run.artifacts_value for run in found])  # a team backend's: one transfer
        render.emit_json([run.to_json() for run in found])
        return 0
    chosen = core.list_columns(found, asked)
    render.table(chosen, core.list_rows(found, chosen))
    if limit and len(found) == limit:
        _say_how_many_more(repo, experiment, filter_expr, deleted, limit, offset)
    return 0


# counting every match reads every run (seconds at a million); past this many the
# line says "more than" instead
COUNT_AT_MOST = 10_000


def _say_how_many_more(repo, experiment, filter_expr, deleted: bool, limit: int, offset: int) -> None:
    from mlctl.tracking import api as core

    cap = max(COUNT_AT_MOST, limit + offset) + 1
    total = core.count_runs(repo, experiment, filter_expr, include_deleted=deleted, at_most=cap)
    if total == cap:
        render.info(f"showing {limit} of more than {cap - 1:,} runs (--limit 0 shows all)")
    elif total > limit + offset:
        render.info(f"showing {limit} of {total} runs (--limit 0 shows all)")


@app.command("show")
def show(run: str = typer.Argument(..., metavar="RUN", help="Run id or unique prefix."),
         metric: str = typer.Option(None, "--metric", metavar="KEY", help="Print every point of one metric."),
         history: bool = typer.Option(False, "--history", help="With --json: include every metric point."),
         as_json: bool = common.json_option()) -> int:
    """Show one run: context, params, metrics, tags, artifacts, data."""
    from mlctl.tracking.api import get_run, show_lines

    found = get_run(common.repo(), run)
    if metric is not None:
        return _show_metric(found, metric, as_json)
    counts = found.metric_keys_with_counts()
    if as_json:
        render.emit_json({**found.to_json(history=history), "metric_points": counts})
        return 0
    lines = show_lines(found, counts)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        render.echo(label if value is None else f"{label.ljust(width)}  {render.fmt(value)}".rstrip())
    return 0


def _show_metric(found, key: str, as_json: bool) -> int:
    from mlctl.errors import NotFoundError
    from mlctl.store.times import epoch_to_iso

    points = found.metric_history(key)
    if not points:
        raise NotFoundError(f"run {found.id} has no metric {key}")
    if as_json:
        render.emit_json([{"step": s, "value": v, "timestamp": epoch_to_iso(t)} for s, v, t in points])
    else:
        render.table(["step", "value", "time"], [(s, v, epoch_to_iso(t)) for s, v, t in points])
    return 0


@app.command("compare")
def compare(runs: list[str] = typer.Argument(..., metavar="RUN RUN...", help="Two or more run ids or prefixes."),
            plot: str = typer.Option(None, "--plot", metavar="FILE", help="Draw metric curves to FILE.png, .html or .svg."),
            metric: list[str] = typer.Option(MULTI, "--metric", metavar="KEY", help="Only these metrics in the plot."),
            as_json: bool = common.json_option()) -> int:
    """Params and metrics of runs side by side, differences marked (*)."""
    from mlctl.tracking import api as core

    repo = common.repo()
    result = core.compare_runs(repo, runs)
    short = core.short_run_ids(repo, result["runs"])
    if plot:
        labels = {r.id: f"{short[r.id]} {r.name or ''}".strip() for r in result["_runs"]}
        core.write_plot(plot, core.curves(result["_runs"], metric or None), labels)
        render.info(f"wrote {plot}")
    if as_json:
        render.emit_json(core.compare_json(result))
        return 0
    columns, rows = core.compare_rows(result, short)
    render.table(columns, rows)
    return 0


@app.command("tag")
def tag(run: str = typer.Argument(..., metavar="RUN"),
        tags: list[str] = typer.Argument(None, metavar="KEY=VAL...", help="Tags to set."),
        remove: list[str] = typer.Option(MULTI, "--remove", "-r", metavar="KEY", help="Tag to remove."),
        as_json: bool = common.json_option()) -> int:
    """Set or remove tags of a run."""
    from mlctl.errors import UsageError
    from mlctl.tracking.api import tag_run
    from mlctl.tracking.api import parse_tags

    if not tags and not remove:
        raise UsageError("nothing to do: give KEY=VAL tags or --remove KEY")
    result = tag_run(common.repo(), run, parse_tags(tags or []), remove or [])
    if as_json:
        render.emit_json(result)
    return 0


@app.command("delete")
def delete(runs: list[str] = typer.Argument(..., metavar="RUN..."),
           purge: bool = typer.Option(False, "--purge", help="Remove already deleted runs for good."),
           as_json: bool = common.json_option()) -> int:
    """Delete runs (soft: `mlctl run restore` brings them back; --purge removes them)."""
    from mlctl.tracking.api import delete_runs, purge_runs

    done = purge_runs(common.repo(), runs) if purge else delete_runs(common.repo(), runs)
    if as_json:
        render.emit_json({"purged" if purge else "deleted": done})
    else:
        render.info(f"{'purged' if purge else 'deleted'} {len(done)} run{'s' if len(done) != 1 else ''}")
    return 0


@app.command("restore")
def restore(runs: list[str] = typer.Argument(..., metavar="RUN..."), as_json: bool = common.json_option()) -> int:
    """Bring deleted runs back."""
    from mlctl.tracking.api import delete_runs

    done = delete_runs(common.repo(), runs, restore=True)
    if as_json:
        render.emit_json({"restored": done})
    else:
        render.info(f"restored {len(done)} run{'s' if len(done) != 1 else ''}")
    return 0


@app.command("artifacts")
def artifacts(run: str = typer.Argument(..., metavar="RUN"),
              names: list[str] = typer.Argument(None, metavar="[NAME...]", help="Only these artifacts (or folders)."),
              output: str = typer.Option(None, "--output", "-o", metavar="DIR", help="Copy the artifacts into DIR."),
              as_json: bool = common.json_option()) -> int:
    """List a run's artifacts, or copy them out of the store (-o DIR)."""
    from mlctl.tracking.api import restore_artifacts
    from mlctl.tracking.api import get_run

    repo = common.repo()
    found = get_run(repo, run)
    if output:
        written = restore_artifacts(repo, found, output, names or None)
        render.emit_json({"written": written}) if as_json else render.info(f"wrote {len(written)} files to {output}")
        return 0
    if as_json:
        render.emit_json(found.artifacts)
    else:
        render.table(["artifact", "object"], sorted(found.artifacts.items()))
    return 0


def _share(verb: str, remote: str | None, runs: list[str] | None, jobs: int, as_json: bool) -> int:
    from mlctl.tracking import api as share

    with render.progress(f"{verb}ing objects") as bar:
        result = getattr(share, verb)(common.repo(), remote, runs or None, jobs=jobs or None, progress=bar)
    if as_json:
        render.emit_json(result.to_json())
        return 0
    done = "pushed to" if verb == "push" else "pulled from"
    render.info(f"{len(result.runs)} runs {done} {result.remote} ({result.objects} objects); "
                f"{result.unchanged} already there")
    for run_id in result.conflicts:
        render.warn(f"run {run_id} changed here and on {result.remote} since it was last shared; kept the local one")
    return 0


@app.command("push")
def push(runs: list[str] = typer.Argument(None, metavar="[RUN...]", help="Only these runs (default: every ended run)."),
         remote: str = typer.Option(None, "-r", "--remote", help="Remote name (default: the default remote)."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, help="Parallel transfers."),
         as_json: bool = common.json_option()) -> int:
    """Share ended runs and their artifacts through a remote."""
    return _share("push", remote, runs, jobs, as_json)


@app.command("pull")
def pull(runs: list[str] = typer.Argument(None, metavar="[RUN...]", help="Only these runs (id or prefix on the remote)."),
         remote: str = typer.Option(None, "-r", "--remote", help="Remote name (default: the default remote)."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, help="Parallel transfers."),
         as_json: bool = common.json_option()) -> int:
    """Fetch the runs (and their artifacts) others pushed to a remote."""
    return _share("pull", remote, runs, jobs, as_json)
