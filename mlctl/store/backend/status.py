"""`mlctl backend init` and `mlctl backend status`: the schema, and where things live."""

from __future__ import annotations

import contextlib

from mlctl.errors import MlctlError, UsageError
from mlctl.store.backend import schema
from mlctl.store.backend.connection import connect
from mlctl.store.backend.url import backend_url, redact, required_url, source

# What the backend holds once a URL is set (tracking/pgdb.py, registry/pgindex.py,
# monitoring/pgrecords.py); artifacts stay in the object store.
ON_BACKEND: frozenset[str] = frozenset({"runs", "registry", "drift_records"})
LOCAL = {"runs": "sqlite", "registry": "refs", "drift_records": "sqlite", "artifacts": "objects"}


def init(repo) -> dict:
    """Create or migrate the schema of the configured backend."""
    url = required_url(repo)
    with contextlib.closing(connect(url)) as conn:
        steps = schema.init(conn)
    return {"url": redact(url), "schema_from": steps["from"], "schema_version": steps["to"]}


def status(repo) -> dict:
    """Where runs, registry, drift records and artifacts live, and the backend's state.
    An unreachable backend is reported (``reachable: false``), not raised."""
    url = backend_url(repo)
    report = {
        "backend": "postgresql" if url else "local",
        "url": redact(url) if url else None,
        "url_source": source(repo),
        "locations": locations(url is not None),
        "reachable": None, "error": None, "server_version": None,
        "schema_version": None, "schema_supported": schema.LATEST,
    }
    if url:
        report.update(_probe(url))
    return report


def locations(with_backend: bool) -> dict:
    return {what: ("postgresql" if with_backend and what in ON_BACKEND else where) for what, where in LOCAL.items()}


def _probe(url: str) -> dict:
    try:
        with contextlib.closing(connect(url)) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
            return {"reachable": True, "server_version": server, "schema_version": schema.version(conn)}
    except MlctlError as exc:
        if isinstance(exc, UsageError) and "psycopg is not installed" in exc.message:
            raise
        return {"reachable": False, "error": exc.message}
