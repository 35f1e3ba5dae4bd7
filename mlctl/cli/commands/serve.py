"""Serve a registered model over HTTP (/predict, /invocations, /health, /metadata, /metrics)."""

from __future__ import annotations

import typer

from mlctl.cli import common, render
from mlctl.connlimits import HEADER_TIMEOUT_S, KEEP_ALIVE_S, MAX_CONNECTIONS

app = common.new_app("Serve a registered model over HTTP (/predict, /invocations, /health, /metadata, /metrics).",
                     group=False)


@app.command("serve")
def serve(
    model: str = typer.Argument(..., metavar="NAME[@ALIAS|:VERSION]",
                                help="The model; NAME alone follows NAME@latest, the newest version."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 0.0.0.0 exposes the server."),
    port: int = typer.Option(8080, "--port", "-p", help="TCP port."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes sharing the port."),
    canary: str = typer.Option(None, "--canary", metavar="NAME:VERSION=PERCENT",
                               help="Send PERCENT% of requests to this version."),
    shadow: str = typer.Option(None, "--shadow", metavar="NAME:VERSION",
                               help="Also predict with this version (logged, never returned)."),
    log_predictions: bool = typer.Option(False, "--log-predictions",
                                         help="Log inputs and predictions to the store (predictions:NAME)."),
    token: str = typer.Option(None, "--token", help="Require 'Authorization: Bearer TOKEN' "
                                                    "(default: $MLCTL_SERVE_TOKEN)."),
    features: list[str] = typer.Option(None, "--features", metavar="VIEW:FEATURE",
                                       help="Fetch these features from the online store by the "
                                            "entity key in each row (repeatable)."),
    validate: str = typer.Option(None, "--validate", metavar="SUITE[:DATASET]",
                                 help="Refuse (400) rows that break the suite's row-level error expectations."),
    max_body_mb: float = typer.Option(32.0, "--max-body-mb", help="Larger request bodies get 413."),
    max_batch_rows: int = typer.Option(256, "--max-batch-rows", help="Cap on rows merged into one model call."),
    batch_latency_ms: float = typer.Option(20.0, "--batch-latency-ms",
                                           help="Target time of one merged model call (batch cap adapts to it)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds before a prediction answers 504."),
    reload_interval: float = typer.Option(1.0, "--reload-interval", help="Seconds between alias checks."),
    log_flush_s: float = typer.Option(5.0, "--log-flush-s",
                                      help="Flush the prediction log at least this often (a crash loses at most this much)."),
    max_connections: int = typer.Option(MAX_CONNECTIONS, "--max-connections",
                                        help="Open connections per worker; past it idle ones are closed first, "
                                             "then requests get 503."),
    header_timeout: float = typer.Option(HEADER_TIMEOUT_S, "--header-timeout",
                                         help="Seconds a client has to send a whole request header."),
    keep_alive_timeout: float = typer.Option(KEEP_ALIVE_S, "--keep-alive-timeout",
                                             help="Seconds an idle keep-alive connection stays open."),
    print_dockerfile: bool = typer.Option(False, "--print-dockerfile",
                                          help="Print a Dockerfile for this server (and write its pinned "
                                               "requirements file), then exit."),
) -> int:
    """Serve a registered model over HTTP until SIGTERM/Ctrl-C."""
    from mlctl.serving import api as command

    settings = command.settings_from_args(
        model, host=host, port=port, workers=workers, canary=canary, shadow=shadow,
        log_predictions=log_predictions, token=token, features=features or [],
        max_body_mb=max_body_mb, max_batch_rows=max_batch_rows, batch_latency_ms=batch_latency_ms,
        timeout=timeout, reload_interval=reload_interval, log_flush_s=log_flush_s,
        limits={"max_connections": max_connections, "header_timeout_s": header_timeout,
                "keep_alive_s": keep_alive_timeout}, validate=validate)
    repo = common.repo()
    if print_dockerfile:
        result = command.dockerfile(repo, settings)
        render.echo(result["dockerfile"].rstrip("\n"))
        render.info(f"wrote {result['requirements_path']} ({len(result['requirements'])} pinned packages)")
        return 0
    return command.serve(repo, settings, on_ready=_announce)


def _announce(info: dict) -> None:
    where = f"http://{info['host']}:{info['port']}"
    alias = f" ({info['model']}@{info['alias']})" if info.get("alias") else ""
    render.info(f"serving {info['model']}:{info['version']}{alias} on {where} with "
                f"{info['workers']} worker(s), pid {info['pid']}; Ctrl-C or SIGTERM stops")
