"""The backend URL: where it comes from, what it may hold, and how it is shown.

``MLCTL_BACKEND_URL`` wins over the config key ``backend.url``. A password may come from
``config.local.yaml``, the environment or libpq's own ``PGPASSWORD`` / ``~/.pgpass``, never
from the tracked ``config.yaml``: a URL with one is refused there, and shown with it masked.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from mlctl.errors import UsageError

ENV_URL = "MLCTL_BACKEND_URL"
CONFIG_KEY = "backend.url"
SCHEMES = ("postgresql", "postgres")
CREDENTIAL_HINT = "use `mlctl config set --local`, MLCTL_BACKEND_URL, or libpq's PGPASSWORD / ~/.pgpass"


def check_url(text: str) -> str:
    """``text`` when it is a PostgreSQL URL, else a UsageError (exit 2)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise UsageError(f"invalid backend URL {redact(text)!r}: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise UsageError(f"invalid backend URL {redact(text)!r}: expected postgresql://[user@]host[:port]/database",
                         hint="the team backend is PostgreSQL (docs/backend.md)")
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise UsageError(f"invalid backend URL {redact(text)!r}: it names no database",
                         hint="postgresql://user@host/DATABASE")
    return text


def parse_config_url(text: str) -> str:
    """The config key's parser (a ValueError becomes `invalid value for backend.url`)."""
    try:
        return check_url(text)
    except UsageError as exc:
        raise ValueError(exc.message.split(": ", 1)[-1]) from None


def has_password(text: str) -> bool:
    """True when the URL carries a password (in its user part or as ``password=``)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.password is not None or "password=" in parts.query.lower()


def redact(text: str) -> str:
    """The URL with any password replaced by ``****`` (for messages and `backend status`)."""
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:****@{host}"
        query = "&".join("password=****" if item.lower().startswith("password=") else item
                         for item in parts.query.split("&")) if parts.query else ""
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable URL>"


def backend_url(repo) -> str | None:
    """The backend URL in force for ``repo`` (checked), or None: runs stay in SQLite."""
    text = os.environ.get(ENV_URL) or repo.config.get(CONFIG_KEY)
    if not text:
        return None
    return check_url(str(text))


def required_url(repo, message: str = "no backend is configured") -> str:
    """The backend URL in force for ``repo``; a UsageError saying ``message`` when none is."""
    url = backend_url(repo)
    if url is None:
        raise UsageError(message, hint="`mlctl config set backend.url postgresql://USER@HOST/DB` (docs/backend.md)")
    return url


def source(repo) -> str | None:
    """Where the URL in force comes from: "env", "config.local.yaml", "config.yaml" or None."""
    if os.environ.get(ENV_URL):
        return "env"
    for name, local in (("config.local.yaml", True), ("config.yaml", False)):
        if repo.config.items(local=local).get(CONFIG_KEY):
            return name
    return None
