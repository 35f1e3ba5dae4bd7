"""Remove objects nothing refers to, older than a grace period."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Remove objects nothing refers to, older than a grace period.", group=False)


@app.command("gc")
def gc(dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only say what would be removed."),
       grace: str = typer.Option("1d", "--grace", help="Keep unreferenced objects younger than this (30m, 12h, 1d)."),
       as_json: bool = common.json_option()) -> int:
    """Remove objects nothing refers to, older than a grace period."""
    from mlctl.store.gc import gc as run_gc, parse_duration

    seconds = parse_duration(grace)
    result = run_gc(common.repo(), grace=seconds, dry_run=dry_run)
    if as_json:
        render.emit_json(result.to_json())
        return 0
    verb = "would remove" if dry_run else "removed"
    render.echo(f"{verb} {len(result.removed)} objects ({result.bytes_freed} bytes), "
                f"{result.temp_removed} temp files; kept {result.referenced} referenced, "
                f"{result.kept_recent} within the grace period")
    return 0
