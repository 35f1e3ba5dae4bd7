"""Remove objects nothing reachable refers to, older than a grace period."""

from __future__ import annotations

import sys

import typer

from mlctl.cli import common, render

app = common.new_app("Remove objects nothing reachable refers to, older than a grace period.", group=False)
SHOWN_LOSSES = 5  # path@commit lines shown before "... and N more"


@app.command("gc")
def gc(name: str = typer.Argument(None, metavar="[NAME]", help="With --remote: the remote (default: the default remote)."),
       dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only say what would be removed."),
       grace: str = typer.Option("1d", "--grace", help="Keep unreferenced objects younger than this (30m, 12h, 1d)."),
       workspace_only: bool = typer.Option(False, "--workspace-only",
                                           help="Keep only what the workspace (and runs, models, stages...) needs; not git history."),
       keep_rev: list[str] = typer.Option([], "--keep-rev", metavar="REV",
                                          help="Keep the history reachable from REV (repeatable), not all of it."),
       only_pushed: str = typer.Option(None, "--only-pushed", metavar="REMOTE", help="Also remove history's data that REMOTE holds whole."),
       yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before a narrower scope removes data of older commits."),
       remote: bool = typer.Option(False, "--remote", help="Remove stale temp files on remote NAME instead (never objects)."),
       as_json: bool = common.json_option()) -> int:
    """Remove objects nothing reachable refers to, older than a grace period.

    Keeps everything any commit can reach (all branches, tags, stash, reflogs) unless a
    narrower scope is asked for; see docs/data.md, "Garbage collection"."""
    from mlctl.store.times import parse_duration

    seconds = parse_duration(grace, "--grace")
    if remote or name is not None:
        return _gc_remote(name, remote, seconds, dry_run, as_json, workspace_only or keep_rev or only_pushed)
    from mlctl.store.gc import gc as run_gc
    from mlctl.store.gcscope import Scope

    scope = Scope(workspace_only, tuple(keep_rev), only_pushed)
    if workspace_only and keep_rev:
        from mlctl.errors import UsageError

        raise UsageError("--workspace-only and --keep-rev contradict each other", hint="pass one of them")
    result = run_gc(common.repo(), grace=seconds, dry_run=dry_run, scope=scope,
                    confirm=None if yes else _confirm)
    for where in result.malformed_pointers:
        render.warn(f"malformed pointer in git history, skipped: {where}")
    if as_json:
        render.emit_json(result.to_json())
    else:
        _print(result)
    return 1 if result.declined else 0


def _gc_remote(name, remote, seconds, dry_run, as_json, scoped) -> int:
    from mlctl.errors import UsageError
    from mlctl.store.remote_gc import gc_remote

    if not remote:
        raise UsageError(f"unexpected argument {name!r}", hint="a remote NAME goes with --remote")
    if scoped:
        raise UsageError("--remote removes only temp files on the remote; scopes are for the local store")
    result = gc_remote(common.repo(), name, grace=seconds, dry_run=dry_run)
    if as_json:
        render.emit_json(result.to_json())
        return 0
    verb = "would remove" if dry_run else "removed"
    render.echo(f"remote {result.remote}: {verb} {len(result.temp_removed)} stale temp files; "
                f"kept {result.kept_recent} within the grace period")
    return 0


def _confirm(result) -> bool:
    """Ask on a terminal; elsewhere refuse (exit 2) rather than guess."""
    from mlctl.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(f"gc ({result.scope}) would remove {_beyond(result)}",
                         hint="check with --dry-run, then pass --yes")
    sys.stderr.write(f"gc ({result.scope}) would remove {_beyond(result)}\n")
    return typer.confirm("Remove them?", default=False, err=True)


def _beyond(result) -> str:
    extra = result.beyond_default
    lines = [f"{extra.objects} objects ({extra.bytes} bytes) that the default scope keeps; "
             f"these versions lose data:"]
    lines += [f"  {label}" for label in extra.lost[:SHOWN_LOSSES]]
    if len(extra.lost) > SHOWN_LOSSES:
        lines.append(f"  ... and {len(extra.lost) - SHOWN_LOSSES} more (--dry-run --json lists all)")
    return "\n".join(lines)


def _print(result) -> None:
    if result.declined:
        render.echo("nothing removed")
        return
    verb = "would remove" if result.dry_run else "removed"
    render.echo(f"{verb} {len(result.removed)} objects ({result.bytes_freed} bytes), "
                f"{result.temp_removed} temp files; kept {result.referenced} referenced, "
                f"{result.kept_recent} within the grace period")
    if result.beyond_default.objects:
        render.echo(f"of which beyond the default scope: {_beyond(result)}")
