"""Build an example project and run the whole lifecycle on it."""

from __future__ import annotations

from pathlib import Path

import typer

from mlctl.cli import common, render

app = common.new_app("Build an example project and run the whole lifecycle on it.", group=False)


@app.command("demo")
def demo(
    directory: Path = typer.Argument(Path("mlctl-demo"), help="Folder to create the project in."),
    force: bool = typer.Option(False, "--force", "-f", help="Use DIR even if it is not empty (a previous demo is replaced)."),
) -> int:
    """Build an example project and run the whole lifecycle on it."""
    from mlctl.demo.api import run_demo

    run_demo(directory, force, render.echo)
    return 0
