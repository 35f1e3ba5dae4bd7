"""Version data files and folders: add, status, checkout, diff, log, list, push, pull, fetch, validate."""

from __future__ import annotations

import shlex
from typing import List, Optional

import typer

from mlctl.cli import common, render
from mlctl.errors import UsageError

app = common.new_app("Version data files and folders: add, status, checkout, diff, log, list, push, pull, fetch, "
                     "validate.")

JOBS = typer.Option(0, "-j", "--jobs", min=0, metavar="N", show_default=False,
                    help="Parallel jobs (default: core.jobs, else the number of cores).")
PATHS = typer.Argument(None, help="Tracked paths (default: all).", show_default=False)


def human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


@app.command("add")
def add(paths: List[str] = typer.Argument(..., help="Files or folders to track."),
        jobs: int = JOBS,
        follow_links: bool = typer.Option(False, "--follow-links",
                                          help="Store the content of symlinks that leave the repository "
                                               "(refused otherwise)."),
        as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Hash files or folders into the store and write PATH.mlctl pointers."""
    from mlctl.data.api import add as run

    result = run(common.repo(), paths, jobs=jobs or None, progress=render.progress, follow_links=follow_links)
    for warning in result.warnings:
        render.warn(warning)
    if as_json:
        render.emit_json(result.to_json())
        return 0
    for p in result.pointers:
        same = " (unchanged)" if p.path in result.unchanged else ""
        files = "1 file" if p.nfiles == 1 else f"{p.nfiles} files"
        render.info(f"{p.path}: {files}, {human(p.size)} -> {p.pointer_path}{same}")
    committed = [p.pointer_path for p in result.pointers] + result.gitignores
    render.info("commit the pointers: git add " + " ".join(shlex.quote(path) for path in committed))
    return 0


@app.command("status")
def status(paths: Optional[List[str]] = PATHS, as_json: bool = common.json_option()) -> int:
    """Modified / deleted / not-in-store data vs the pointers; exit 1 if anything changed."""
    from mlctl.data.api import status as run

    report = run(common.repo(), paths)
    if as_json:
        render.emit_json(report.to_json())
        return common.found(report.changed)
    for item in report.paths:
        if item.state != "unchanged":
            render.echo(f"{item.state + ':':<14}{item.pointer.path}")
        for label, files in (("added", item.added), ("modified", item.modified), ("deleted", item.deleted)):
            for f in files:
                render.echo(f"  {label + ':':<12}{f}")
        if not item.in_store:
            render.echo(f"{'not in store:':<14}{item.pointer.path}")
    if not report.changed:
        render.info(f"data up to date ({len(report.paths)} tracked paths)")
    elif any(not p.in_store for p in report.paths):
        from mlctl.data.api import pull_command  # here: importing the data door costs every `data` command's startup

        absent = [p.pointer.path for p in report.paths if not p.in_store]
        render.info(f"hint: run `{pull_command(*absent)}` to fetch what is not in the store")
    return common.found(report.changed)


@app.command("checkout")
def checkout(paths: Optional[List[str]] = PATHS,
             rev: Optional[str] = typer.Option(None, "--rev", metavar="GITREV", help="Take GITREV's pointers (and write them)."),
             link: Optional[str] = typer.Option(None, "--link", metavar="copy|reflink|hardlink|symlink",
                                                help="How files land (default: data.link, else copy)."),
             force: bool = typer.Option(False, "--force", "-f", help="Discard workspace data that is not in the store."),
             jobs: int = JOBS,
             as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Make the workspace match the pointers (or GITREV's), verifying every object."""
    from mlctl.data.api import checkout as run

    result = run(common.repo(), paths, rev=rev, link=link, force=force, jobs=jobs or None,
                 progress=render.progress)
    for warning in result.warnings:
        render.warn(warning)
    if as_json:
        render.emit_json(result.to_json())
        return 0
    render.info(f"{len(result.written)} written, {len(result.deleted)} deleted, "
                f"{result.unchanged} unchanged ({result.link})")
    return 0


@app.command("diff")
def diff(rev_a: Optional[str] = typer.Argument(None, metavar="[REV_A]", help="Old side (default: HEAD)."),
         rev_b: Optional[str] = typer.Argument(None, metavar="[REV_B]", help="New side (default: the workspace)."),
         table: Optional[str] = typer.Argument(None, metavar="[PATH]", show_default=False,
                                               help="With --rows: the tracked table (the last argument)."),
         path: Optional[List[str]] = typer.Option(None, "--path", "-p", help="Only these tracked paths."),
         rows: bool = typer.Option(False, "--rows", help="Row-level diff of a parquet/CSV table (file or folder)."),
         key: Optional[str] = typer.Option(None, "--key", metavar="COL[,COL]",
                                           help="With --rows: match rows by these columns "
                                                "(default: rows as multisets)."),
         sample: int = typer.Option(5, "--sample", min=0, metavar="N", help="With --rows: changed rows to show."),
         exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when there are differences."),
         as_json: bool = common.json_option()) -> int:
    """Added / modified / deleted files between two versions (default: HEAD vs workspace);
    with --rows, the rows of one table."""
    if rows:
        return _row_diff([a for a in (rev_a, rev_b, table) if a is not None], path, key, sample, exit_code, as_json)
    if table is not None or key is not None:
        raise UsageError("PATH and --key need --rows (file diffs take --path)")
    from mlctl.data.api import diff as run

    report = run(common.repo(), rev_a, rev_b, paths=path)
    if as_json:
        render.emit_json(report.to_json())
    else:
        rows = [("added", d["path"], human(d["size"])) for d in report.added]
        rows += [("modified", d["path"], f"{human(d['old_size'])} -> {human(d['new_size'])}") for d in report.modified]
        rows += [("deleted", d["path"], human(d["size"])) for d in report.deleted]
        for change, p, size in sorted(rows, key=lambda r: r[1]):
            render.echo(f"{change + ':':<10}{p}  ({size})")
        render.info(f"{report.old} -> {report.new}: {len(report.added)} added, "
                    f"{len(report.modified)} modified, {len(report.deleted)} deleted")
    return common.found(report.changed) if exit_code else 0


def _row_diff(args: list[str], path: Optional[List[str]], key: Optional[str], sample: int, exit_code: bool,
              as_json: bool) -> int:
    from mlctl.cli.commands._rowdiff_view import show
    from mlctl.data.api import row_diff

    if path:
        args = [*args, *path]
    if not args or len(args) > 3:
        raise UsageError("--rows takes [REV_A [REV_B]] PATH: one tracked table")
    *revs, table = args
    keys = [k.strip() for k in key.split(",") if k.strip()] if key else None
    report = row_diff(common.repo(), table, *revs, key=keys, sample=sample)
    if as_json:
        render.emit_json(report.to_json())
    else:
        show(report)
    return common.found(report.changed) if exit_code else 0


@app.command("log")
def log(path: str = typer.Argument(..., help="A tracked path (or its pointer file)."),
        limit: int = typer.Option(0, "-n", "--max-count", min=0, help="Show at most N versions."),
        as_json: bool = common.json_option()) -> int:
    """The versions of PATH through the git history of its pointer."""
    from mlctl.data.api import log as run

    repo = common.repo()
    rel = repo.relpath(path).removesuffix(".mlctl")
    versions = run(repo, rel, limit or None)
    if as_json:
        render.emit_json({"path": rel, "versions": [v.to_json() for v in versions]})
        return 0
    rows = [(v.commit[:10], v.date[:19].replace("T", " "), "deleted" if v.pointer is None else human(v.pointer.size),
             "-" if v.pointer is None else v.pointer.nfiles, "-" if v.pointer is None else v.pointer.hash[:12],
             v.subject) for v in versions]
    render.table(["commit", "date", "size", "files", "hash", "subject"], rows)
    if not versions:
        render.info(f"no commits touch {rel}.mlctl")
    return 0


@app.command("list")
def list_(as_json: bool = common.json_option()) -> int:
    """Every tracked path: size, file count, hash, status."""
    from mlctl.data.api import list_tracked

    rows = list_tracked(common.repo())
    if as_json:
        render.emit_json(rows)
        return 0
    render.table(["path", "kind", "size", "files", "hash", "status"],
                 [(r["path"], r["kind"], human(r["size"]), r["nfiles"], (r["hash"] or "-")[:12], r["status"])
                  for r in rows])
    return 0


REMOTE = typer.Option(None, "-r", "--remote", help="Remote name (default: core.default_remote).")
SYNC_REV = typer.Option(None, "--rev", metavar="GITREV",
                        help="Use GITREV's pointers instead of the workspace's (pull: then only fetch).")
ALL_COMMITS = typer.Option(False, "--all-commits",
                           help="Every version in git history: of GITREV's commits with --rev, "
                                "else of every branch, tag and stash, and the workspace.")


def _report(verb: str, result, as_json: bool) -> int:
    for warning in result.warnings:
        render.warn(warning)
    if as_json:
        render.emit_json(result.to_json() if verb == "push" else result.pull_json())
        return 0
    direction = "to" if verb == "push" else "from"
    render.info(f"{verb}: {result.transferred} objects transferred {direction} {result.remote} "
                f"({result.objects} needed by {result.paths} tracked path versions)")
    if result.checkout is not None:
        c = result.checkout
        render.info(f"checkout: {len(c.written)} written, {len(c.deleted)} deleted, {c.unchanged} unchanged ({c.link})")
    return 0


@app.command("push")
def push(paths: Optional[List[str]] = PATHS, remote: Optional[str] = REMOTE, rev: Optional[str] = SYNC_REV,
         all_commits: bool = ALL_COMMITS, jobs: int = JOBS,
         as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Upload the objects of tracked paths that the remote lacks."""
    from mlctl.data.api import push as run

    result = run(common.repo(), paths, remote=remote, jobs=jobs or None, rev=rev, all_commits=all_commits,
                 progress=render.progress)
    return _report("push", result, as_json)


@app.command("pull")
def pull(paths: Optional[List[str]] = PATHS, remote: Optional[str] = REMOTE, rev: Optional[str] = SYNC_REV,
         all_commits: bool = ALL_COMMITS,
         no_checkout: bool = typer.Option(False, "--no-checkout", help="Only fetch (same as `data fetch`)."),
         link: Optional[str] = typer.Option(None, "--link", metavar="copy|reflink|hardlink|symlink",
                                            help="How files land (default: data.link, else copy)."),
         force: bool = typer.Option(False, "--force", "-f", help="Discard workspace data that is not in the store."),
         jobs: int = JOBS,
         as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Download the objects of tracked paths that the local store lacks, then check them out."""
    from mlctl.data.api import pull as run

    result = run(common.repo(), paths, remote=remote, jobs=jobs or None, rev=rev, all_commits=all_commits,
                 checkout=not no_checkout, link=link, force=force, progress=render.progress)
    return _report("pull", result, as_json)


@app.command("fetch")
def fetch(paths: Optional[List[str]] = PATHS, remote: Optional[str] = REMOTE,
          rev: Optional[str] = typer.Option(None, "--rev", metavar="GITREV", help="Use GITREV's pointers instead of the workspace's."),
          all_commits: bool = ALL_COMMITS, jobs: int = JOBS,
          as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Download the objects of tracked paths that the local store lacks, without checking out."""
    from mlctl.data.api import fetch as run

    result = run(common.repo(), paths, remote=remote, jobs=jobs or None, rev=rev, all_commits=all_commits,
                 progress=render.progress)
    return _report("fetch", result, as_json)


@app.command("query")
def query(sql: str = typer.Argument(..., metavar="SQL",
                                    help='DuckDB SQL; tracked tables by their path: FROM "data/raw/events.parquet".'),
          rev: Optional[str] = typer.Option(None, "--rev", metavar="REV",
                                            help="Read the tables of this git revision "
                                                 "(default: the workspace's pointers)."),
          as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout."),
          output: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE",
                                               help="Write the result to FILE.parquet or FILE.csv."),
          as_json: bool = common.json_option()) -> int:
    """SQL (DuckDB, read-only) over tracked tables at any revision, read from the store."""
    from mlctl.cli.commands._query_view import show
    from mlctl.data.api import query as run

    if sum((as_csv, as_json, output is not None)) > 1:
        raise UsageError("choose one of --json, --csv and -o")
    repo = common.repo()
    engine, result = run(repo, sql, rev)
    with engine:
        show(repo, result, as_json=as_json, as_csv=as_csv, output=output)
    return 0


@app.command("validate")
def validate(target: Optional[str] = typer.Argument(None, metavar="[TARGET[@REV]]",
                                                    help="A dataset of the suite (default: every one)."),
             suite: Optional[str] = typer.Option(None, "--suite", metavar="FILE",
                                                 help="The expectation suite (default: expectations.yaml at the root)."),
             suggest: bool = typer.Option(False, "--suggest",
                                          help="Write a starting suite for TARGET from its data instead."),
             from_gx: Optional[str] = typer.Option(None, "--from-gx", metavar="GX_SUITE.json",
                                                   help="Convert a Great Expectations suite into TARGET's expectations."),
             force: bool = typer.Option(False, "--force",
                                        help="With --suggest or --from-gx: replace TARGET's expectations."),
             report: Optional[str] = typer.Option(None, "--report", metavar="FILE.html",
                                                  help="Also write a self-contained HTML report."),
             memory: Optional[str] = typer.Option(None, "--memory", metavar="SIZE",
                                                  help="Stay under SIZE (4GB) of memory, spilling to disk "
                                                       "(default: config core.memory)."),
             as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Check data against expectations; exit 1 when any `error` expectation fails."""
    from mlctl.cli.commands._validate_view import show_validation
    from mlctl.store.report_file import check_report_path, write_report_file
    from mlctl.validation.api import validate as run

    if suggest and from_gx:
        raise UsageError("give one of --suggest and --from-gx: each writes TARGET's expectations")
    if force and not (suggest or from_gx):
        raise UsageError("--force goes with --suggest or --from-gx (it replaces a dataset's expectations)")
    if report and (suggest or from_gx):
        raise UsageError("--report goes with a validation, not with --suggest or --from-gx")
    if report:
        check_report_path(report)  # before the run: a bad path records and writes nothing
    if suggest:
        return _suggest(target, suite, force, as_json, memory)
    if from_gx:
        return _from_gx(target, from_gx, suite, force, as_json)
    result = run(common.repo(), target, suite_path=suite, memory=memory)
    if report:
        write_report_file(report, result.to_html())
    if as_json:
        render.emit_json({**result.to_json(), "report": report})
    else:
        show_validation(result, report)
    return common.found(not result.success)


def _from_gx(target: str | None, gx_path: str, suite: str | None, force: bool, as_json: bool) -> int:
    from mlctl.cli.commands._validate_view import show_conversion
    from mlctl.validation.api import from_gx as run

    if target is None:
        raise UsageError("--from-gx needs a TARGET: the dataset the GX suite's expectations are for")
    written = run(common.repo(), target, gx_path, suite_path=suite, force=force)
    if as_json:
        render.emit_json(written)
    else:
        show_conversion(written)
    return 0


def _suggest(target: str | None, suite: str | None, force: bool, as_json: bool, memory: str | None) -> int:
    from mlctl.cli.commands._validate_view import show_suggestion
    from mlctl.validation.api import suggest as run

    if target is None:
        raise UsageError("--suggest needs a TARGET: the file, folder, glob or tracked path to profile")
    written = run(common.repo(), target, suite_path=suite, force=force, memory=memory)
    if as_json:
        render.emit_json(written)
    else:
        show_suggestion(written)
    return 0
