"""What `mlctl serve` is asked to serve: the model reference, canary and shadow specs,
and the server settings. Parsing only; nothing here imports the registry or numpy."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from mlctl.connlimits import HEADER_TIMEOUT_S, KEEP_ALIVE_S, MAX_CONNECTIONS
from mlctl.errors import UsageError

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_REF = re.compile(rf"^(?P<name>{_NAME})(?:@(?P<alias>{_NAME})|:(?P<version>\d+))?$")
DEFAULT_ALIAS = "latest"  # as everywhere in mlctl: NAME alone is the newest version
TOKEN_ENV = "MLCTL_SERVE_TOKEN"


@dataclass(frozen=True)
class ModelRef:
    """NAME@ALIAS (followed when the alias moves) or NAME:VERSION (pinned)."""

    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}@{self.alias}"

    @property
    def follows_alias(self) -> bool:
        return self.version is None


def parse_model_ref(text: str, what: str = "model") -> ModelRef:
    """``churn`` (= churn@latest, the newest version), ``churn@staging`` or ``churn:8``."""
    match = _REF.match(text.strip())
    if not match:
        raise UsageError(f"invalid {what} {text!r}: expected NAME, NAME@ALIAS or NAME:VERSION")
    version = match["version"]
    if version is not None:
        return ModelRef(match["name"], version=int(version))
    return ModelRef(match["name"], alias=match["alias"] or DEFAULT_ALIAS)


def parse_canary(text: str) -> tuple[ModelRef, float]:
    """``NAME:VERSION=PERCENT`` (also ``NAME@ALIAS=PERCENT``) -> (ref, percent in (0, 100])."""
    ref_text, sep, percent_text = text.rpartition("=")
    if not sep:
        raise UsageError(f"invalid canary {text!r}: expected NAME:VERSION=PERCENT, e.g. churn:8=10")
    try:
        percent = float(percent_text.rstrip("%"))
    except ValueError:
        raise UsageError(f"invalid canary percentage {percent_text!r} in {text!r}") from None
    if not 0 < percent <= 100:
        raise UsageError(f"canary percentage must be in (0, 100], got {percent_text}")
    return parse_model_ref(ref_text, "canary model"), percent


@dataclass
class ServeSettings:
    """Everything a worker needs besides the loaded models."""

    model: ModelRef
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    canary: tuple[ModelRef, float] | None = None
    shadow: ModelRef | None = None
    log_predictions: bool = False
    token: str | None = None
    max_body_bytes: int = 32 * 1024 * 1024
    max_batch_rows: int = 256
    batch_latency_ms: float = 20.0
    predict_timeout_s: float = 30.0
    reload_interval_s: float = 1.0
    log_flush_s: float = 5.0
    features: list[str] = field(default_factory=list)
    row_suite: str | None = None  # --validate SUITE[:DATASET]: row-level expectations per request
    max_connections: int = MAX_CONNECTIONS  # per worker; past it idle connections are shed, then 503
    header_timeout_s: float = HEADER_TIMEOUT_S  # a request header must arrive whole within this
    keep_alive_s: float = KEEP_ALIVE_S  # an idle keep-alive connection is closed after this

    def validate(self) -> None:
        if not 0 < self.port < 65536:
            raise UsageError(f"--port must be in 1..65535, got {self.port}")
        if self.workers < 1:
            raise UsageError(f"--workers must be >= 1, got {self.workers}")
        if self.max_batch_rows < 1:
            raise UsageError("--max-batch-rows must be >= 1")
        if self.batch_latency_ms <= 0:
            raise UsageError("--batch-latency-ms must be > 0")
        if self.max_connections < 1:
            raise UsageError(f"--max-connections must be >= 1, got {self.max_connections}")
        if self.header_timeout_s <= 0 or self.keep_alive_s <= 0:
            raise UsageError("--header-timeout and --keep-alive-timeout must be > 0")
        if self.token is not None and not self.token.strip():
            raise UsageError(f"an empty token would let nobody in; unset {TOKEN_ENV} or give --token")

    def to_json(self) -> dict:
        return {
            "model": str(self.model), "host": self.host, "port": self.port, "workers": self.workers,
            "canary": {"model": str(self.canary[0]), "percent": self.canary[1]} if self.canary else None,
            "shadow": str(self.shadow) if self.shadow else None,
            "log_predictions": self.log_predictions, "auth": self.token is not None,
            "max_body_bytes": self.max_body_bytes, "max_batch_rows": self.max_batch_rows,
            "batch_latency_ms": self.batch_latency_ms, "features": list(self.features),
            "validate": self.row_suite, "max_connections": self.max_connections, "header_timeout_s": self.header_timeout_s,
            "keep_alive_s": self.keep_alive_s,
        }


def token_from(flag: str | None) -> str | None:
    return flag if flag is not None else os.environ.get(TOKEN_ENV) or None
