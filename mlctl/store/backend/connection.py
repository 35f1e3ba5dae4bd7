"""Connections to the PostgreSQL backend, and what goes wrong with them as mlctl errors.

psycopg (the ``postgres`` extra) is imported here, inside functions, so that nothing
pays for it until a backend URL is set. A connection is in autocommit mode (each change
is an explicit transaction), reads JSONB columns as text (the callers decode JSON as
they do SQLite's), and has ``search_path`` set to mlctl's own schema.

Errors: a URL libpq cannot parse, a database that does not exist or credentials it
refuses are the user's input (exit 2); a server that cannot be reached is exit 2 as well,
as an unreachable remote is (a script's 3 means "the store or a lock"); a connection lost
in the middle of a command is exit 3, an I/O error while writing, the change rolled back.
"""

from __future__ import annotations

import os
import time

from mlctl.errors import MlctlError, StoreDamageError, UsageError
from mlctl.store.backend.url import CREDENTIAL_HINT, check_url, redact

NAMESPACE = "mlctl"  # the PostgreSQL schema that holds every mlctl table
CONNECT_TIMEOUT = 10  # seconds, unless the URL or PGCONNECT_TIMEOUT says otherwise
# A server found unreachable is not tried again for this long by the same process: each
# part of `mlctl status` (runs, models, drift, retrain) would otherwise wait out the
# connect timeout of its own against a server that drops packets.
UNREACHABLE_TTL_S = 30.0
_unreachable: dict[str, tuple[float, BaseException]] = {}
_INPUT_STATES = ("28", "3D")  # invalid authorization; invalid catalog (no such database)


class BackendUnavailable(UsageError):
    """The backend server cannot be reached (exit 2, as an unreachable remote)."""


class BackendFailed(StoreDamageError):
    """The backend failed or the connection was lost mid-command (exit 3: an I/O error
    while writing; the change in progress was rolled back)."""


def psycopg_module():
    """psycopg, or a UsageError saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise UsageError("backend.url is set but psycopg is not installed",
                         hint="pip install 'mlctl[postgres]' (or unset backend.url and MLCTL_BACKEND_URL)") from None
    return psycopg


def connect(url: str):
    """An open connection to the backend at ``url`` (checked first), ready for mlctl."""
    psycopg = psycopg_module()
    check_url(url)
    kwargs = {}
    if "connect_timeout" not in url and not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    failed = _unreachable.get(url)
    if failed is not None and time.monotonic() - failed[0] < UNREACHABLE_TTL_S:
        raise failed[1]
    try:
        conn = psycopg.connect(url, autocommit=True, **kwargs)
    except psycopg.ProgrammingError as exc:  # libpq could not parse the conninfo
        raise UsageError(f"invalid backend URL {redact(url)!r}: {_first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        error = connect_error(url, exc)
        if isinstance(error, BackendUnavailable):
            _unreachable[url] = (time.monotonic(), error)
        raise error from None
    _unreachable.pop(url, None)
    try:
        _prepare(psycopg, conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(psycopg, conn) -> None:
    from psycopg.types.string import TextLoader

    conn.adapters.register_loader("jsonb", TextLoader)
    conn.adapters.register_loader("json", TextLoader)
    conn.execute(f"SET search_path TO {NAMESPACE}")


def connect_error(url: str, exc: BaseException) -> MlctlError:
    """The mlctl error for a failed connection attempt."""
    state = getattr(exc, "sqlstate", None) or ""
    detail = _first_line(exc)
    if state.startswith(_INPUT_STATES) or "password" in detail.lower() or "does not exist" in detail:
        return UsageError(f"the backend {redact(url)} refused the connection: {detail}",
                          hint=f"check backend.url; for a password {CREDENTIAL_HINT}")
    return BackendUnavailable(f"the backend {redact(url)} is unreachable: {detail}",
                              hint="check that the server is up and reachable from here (`mlctl backend status`)")


def query_error(url: str, exc: BaseException) -> BackendFailed:
    """The mlctl error for a connection lost or a server failing mid-command."""
    return BackendFailed(f"the backend {redact(url)} failed: {_first_line(exc)}",
                              hint="the change in progress was rolled back; run the command again")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def detach_in_child(conn) -> None:
    """After fork, in the child: make ``conn`` unusable without touching the parent's
    session. Closing it would send the server a goodbye on the socket both processes
    share, ending the parent's connection; pointing the descriptor at /dev/null first
    sends that goodbye nowhere."""
    try:
        fd = conn.fileno()
    except Exception:  # already closed or broken: nothing shared any more
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
    try:
        conn.close()
    except Exception:
        pass
