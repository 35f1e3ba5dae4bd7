"""Responses and query parameters: strict JSON, and every bad parameter a 400 JSON error.

An endpoint declares the parameters it takes; anything else in the query string is a
400 naming what is allowed, so a typo (``?sortt=``) is an error instead of being ignored.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from mlctl.jsonsafe import json_safe
from mlctl.errors import MlctlError, NotFoundError, ObjectMissingError, StoreDamageError

# parameters the guard consumes on any URL
GLOBAL_PARAMS = frozenset({"token"})


class HTTPError(Exception):
    """A client error answered as ``{"error": ..., "hint": ..., ...}`` with ``status``."""

    def __init__(self, status: int, message: str, hint: str | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.hint, self.extra = status, message, hint, extra

    def to_json(self) -> dict:
        out = {"error": self.message, "status": self.status}
        if self.hint:
            out["hint"] = self.hint
        out.update(self.extra)
        return out


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(json_safe(content), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")


def error_response(exc: HTTPError) -> JSON:
    return JSON(exc.to_json(), status_code=exc.status)


def from_mlctl_error(exc: MlctlError, parameter: str | None = None) -> HTTPError:
    """The HTTP form of a core error: unknown things 404, bad input 400, damage 500."""
    extra = {"parameter": parameter} if parameter else {}
    for attr in ("column", "token"):
        if hasattr(exc, attr):
            extra[attr] = getattr(exc, attr)
    if isinstance(exc, (NotFoundError, ObjectMissingError)):
        status = 404
    elif isinstance(exc, StoreDamageError):
        status = 500  # the store, not the request, is wrong; the body says how to repair
    elif exc.exit_code == 3:
        status = 503  # a lock held past its timeout: try again
    else:
        status = 400
    return HTTPError(status, exc.message, exc.hint, **extra)


class Query:
    """The query string of one request, checked against the names an endpoint takes."""

    def __init__(self, request, allowed: tuple[str, ...] = ()):
        self.params = request.query_params
        unknown = sorted(set(self.params.keys()) - set(allowed) - GLOBAL_PARAMS)
        if unknown:
            shown = ", ".join(allowed) if allowed else "none"
            raise HTTPError(400, f"unknown query parameter: {unknown[0]}", f"this endpoint takes: {shown}",
                            parameter=unknown[0])
        for name in self.params.keys():
            if len(self.params.getlist(name)) > 1:
                raise HTTPError(400, f"query parameter {name} given more than once", parameter=name)

    def text(self, name: str, default: str | None = None, max_length: int = 4000) -> str | None:
        value = self.params.get(name)
        if value is None or value.strip() == "":
            return default
        if len(value) > max_length:
            raise HTTPError(400, f"query parameter {name} is longer than {max_length} characters", parameter=name)
        if "\x00" in value:
            raise HTTPError(400, f"query parameter {name} holds a NUL character", parameter=name)
        return value

    def integer(self, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            if not raw.strip().isascii():
                raise ValueError(raw)
            value = int(raw.strip())
        except ValueError:
            raise HTTPError(400, f"query parameter {name} must be an integer, not {raw!r}", parameter=name) from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise HTTPError(400, f"query parameter {name} must be {bound}, not {value}", parameter=name)
        return value

    def flag(self, name: str) -> bool:
        raw = self.text(name)
        if raw is None:
            return False
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes"):
            return True
        if lowered in ("0", "false", "no"):
            return False
        raise HTTPError(400, f"query parameter {name} must be true or false, not {raw!r}", parameter=name)

    def items(self, name: str, max_items: int = 100) -> list[str]:
        """A comma-separated list, blanks dropped."""
        raw = self.text(name)
        if raw is None:
            return []
        items = [part.strip() for part in raw.split(",") if part.strip()]
        if len(items) > max_items:
            raise HTTPError(400, f"query parameter {name} lists more than {max_items} items", parameter=name)
        return items
