"""Open a local, read-only web dashboard: runs, models, drift checks, the pipeline."""

from __future__ import annotations

import sys

import typer

from mlctl.cli import common, render

app = common.new_app("Open a local, read-only web dashboard: runs, models, drift checks, the pipeline.", group=False)

TOKEN_ENV = "MLCTL_UI_TOKEN"


@app.command("ui")
def ui(host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 0.0.0.0 exposes the dashboard."),
       port: int = typer.Option(5000, "--port", "-p", min=0, max=65535, help="TCP port (0: any free port)."),
       token: str = typer.Option(None, "--token", envvar=TOKEN_ENV, show_envvar=False,
                                 help=f"Require this token (Authorization: Bearer, or ?token= once per "
                                      f"browser); default: ${TOKEN_ENV}.")) -> int:
    """Serve the dashboard until Ctrl-C. It prints its URL on stdout."""
    from mlctl.net import is_loopback
    from mlctl.ui.api import serve

    def announce(url: str) -> None:
        if not token and not is_loopback(host):
            render.warn(f"serving on {host} without --token: anyone who can reach this machine can read your runs")
        render.echo(url)
        sys.stdout.flush()  # a script waiting for the URL reads it now, not at exit
        render.info("mlctl ui: read-only dashboard at the URL above; Ctrl-C stops it")

    code = serve(common.repo(), host=host, port=port, token=token, on_ready=announce)
    render.info("mlctl ui: stopped")
    return code
