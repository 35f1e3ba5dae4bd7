"""Get everything the team shared: data (checked out), runs, pipeline cache, model registry."""

from __future__ import annotations

from typing import Optional

import typer

from mlctl.cli import common, render

app = common.new_app("Get everything the team shared: data (checked out), runs, pipeline cache, model registry.",
                     group=False)


@app.command("pull")
def pull(remote: Optional[str] = typer.Option(None, "-r", "--remote", help="Remote name (default: core.default_remote)."),
         all_commits: bool = typer.Option(False, "--all-commits",
                                          help="Also fetch the data of every revision in git history."),
         no_checkout: bool = typer.Option(False, "--no-checkout", help="Only fetch data; leave the workspace alone."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, metavar="N", show_default=False,
                                  help="Parallel transfers (default: the remote's jobs setting)."),
         as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Pull data (the workspace's, checked out), runs, pipeline run-cache and model registry."""
    from mlctl.sharing import api as sharing
    from mlctl.cli.commands._share_view import show

    report = sharing.pull(common.repo(), remote, all_commits=all_commits, checkout=not no_checkout,
                          jobs=jobs or None, progress=render.progress)
    return show(report, as_json)
