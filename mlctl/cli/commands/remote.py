"""Manage remotes: shared storage (a folder, file://, s3://bucket/prefix)."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Manage remotes: shared storage (a folder, file://, s3://bucket/prefix).")


@app.command("add")
def add(name: str = typer.Argument(...), url: str = typer.Argument(..., help="Folder, file://, s3://bucket/prefix, or any fsspec URL."),
        default: bool = typer.Option(False, "--default", "-d", help="Make it the default remote."),
        force: bool = typer.Option(False, "--force", "-f", help="Replace an existing remote of that name.")) -> int:
    """Add a remote."""
    from mlctl.store.remotes import add_remote

    add_remote(common.repo(), name, url, default=default, force=force)
    return 0


@app.command("remove")
def remove(name: str = typer.Argument(...)) -> int:
    """Remove a remote."""
    from mlctl.store.remotes import remove_remote

    remove_remote(common.repo(), name)
    return 0


@app.command("list")
def list_(as_json: bool = common.json_option()) -> int:
    """List remotes."""
    from mlctl.store.remotes import list_remotes

    remotes = list_remotes(common.repo())
    if as_json:
        render.emit_json([r.to_json() for r in remotes])
        return 0
    for r in remotes:
        render.echo(f"{r.name}\t{r.url}{'  (default)' if r.default else ''}")
    return 0
