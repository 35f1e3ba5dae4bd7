"""Share everything a teammate needs: data of the pushed history, runs, pipeline cache, registry."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from mlctl.cli import common, render

app = common.new_app("Share everything a teammate needs: data of the pushed history, runs, pipeline cache, "
                     "registry.", group=False)


@app.command("push")
def push(remote: Optional[str] = typer.Option(None, "-r", "--remote", help="Remote name (default: core.default_remote)."),
         all_commits: bool = typer.Option(False, "--all-commits",
                                          help="The data of every branch, tag and stash, not just the current branch."),
         pre_push: Optional[str] = typer.Option(None, "--pre-push", metavar="GIT_REMOTE", hidden=True,
                                                help="From git's pre-push hook: the data of the commits named on stdin."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, metavar="N", show_default=False,
                                  help="Parallel transfers (default: the remote's jobs setting)."),
         as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Push data (current branch's history), runs, pipeline run-cache and model registry."""
    from mlctl.sharing import api as sharing
    from mlctl.cli.commands._share_view import show

    pushed = sys.stdin.read() if pre_push is not None else None
    report = sharing.push(common.repo(), remote, all_commits=all_commits, jobs=jobs or None, pushed=pushed,
                          git_remote=pre_push, progress=render.progress)
    return show(report, as_json)
