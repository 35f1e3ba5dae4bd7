"""The verbs behind `mlctl serve`: turn flags into settings, run the server, write the
Dockerfile. The CLI module only parses and renders."""

from __future__ import annotations

from mlctl.errors import UsageError
from mlctl.serving.spec import ServeSettings, parse_canary, parse_model_ref, token_from


def settings_from_args(model: str, *, host: str, port: int, workers: int, canary: str | None,
                       shadow: str | None, log_predictions: bool, token: str | None,
                       features: list[str], max_body_mb: float, max_batch_rows: int,
                       batch_latency_ms: float, timeout: float, reload_interval: float,
                       log_flush_s: float = 5.0, limits: dict | None = None,
                       validate: str | None = None) -> ServeSettings:
    """``limits``: any of max_connections, header_timeout_s, keep_alive_s (defaults in
    mlctl/connlimits.py)."""
    if max_body_mb <= 0:
        raise UsageError("--max-body-mb must be > 0")
    if timeout <= 0 or reload_interval <= 0 or log_flush_s <= 0:
        raise UsageError("--timeout, --reload-interval and --log-flush-s must be > 0")
    settings = ServeSettings(
        model=parse_model_ref(model), host=host, port=port, workers=workers,
        canary=parse_canary(canary) if canary else None,
        shadow=parse_model_ref(shadow, "shadow model") if shadow else None,
        log_predictions=log_predictions, token=token_from(token),
        max_body_bytes=int(max_body_mb * 1024 * 1024), max_batch_rows=max_batch_rows,
        batch_latency_ms=batch_latency_ms, predict_timeout_s=timeout,
        reload_interval_s=reload_interval, log_flush_s=log_flush_s, features=list(features),
        row_suite=validate,
        **(limits or {}),
    )
    settings.validate()
    return settings


def run(repo, settings: ServeSettings, on_ready=None) -> int:
    """Load and verify every model, then serve until SIGTERM/SIGINT."""
    from mlctl.serving.server import load_models, serve

    loaded = load_models(repo, settings)
    return serve(repo, settings, loaded, on_ready)


def dockerfile(repo, settings: ServeSettings) -> dict:
    from mlctl.serving.dockerfile import write_context

    return write_context(repo, settings)
