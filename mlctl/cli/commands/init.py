"""Create .mlctl/ in the current folder (idempotent)."""

from __future__ import annotations

import os

import typer

from mlctl.cli import render
from mlctl.cli.common import new_app

app = new_app("Create .mlctl/ in the current folder and add its ignore rules (idempotent).", group=False)


@app.command("init")
def init(
    no_git_ignore: bool = typer.Option(False, "--no-git-ignore", help="Leave the repository's .gitignore alone."),
) -> int:
    """Create .mlctl/ in the current folder and add its ignore rules (idempotent)."""
    from mlctl.store.repo import init_repo

    repo, created = init_repo(os.getcwd(), git_ignore=not no_git_ignore)
    if created:
        render.info(f"Initialized empty mlctl repository in {repo.dot}")
    else:
        render.info(f"mlctl repository already initialized in {repo.dot}; nothing changed")
    return 0
