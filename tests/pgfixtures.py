"""A real PostgreSQL server for the tests that need one: Debian's binaries
(/usr/lib/postgresql/*/bin), a cluster made by initdb in a temp folder, listening on
127.0.0.1 on a free port with its unix socket in that folder, started once per session
(once per xdist worker) and stopped by PID at the end. PostgreSQL refuses to run as
root, so as root the cluster belongs to the ``postgres`` user (created when missing).

Each test gets a database of its own, made by CREATE DATABASE from a template (a file
copy, a few milliseconds): ``pg_url`` an empty one, ``pg_backend_url`` one whose mlctl
schema is already in place. A plugin of the root conftest, so any test directory can
ask for them; tests skip, saying why, only when the binaries are missing."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.data.conftest import free_port

PG_USER = "postgres"  # the OS user running the server when we are root
DB_SUPERUSER = "mlctl"  # the database role the tests connect as (trust auth on loopback)
SCHEMA_TEMPLATE = "mlctl_schema_template"
_names = itertools.count()


@dataclass
class PgServer:
    host: str
    port: int
    socket_dir: str
    pid: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{DB_SUPERUSER}@{self.host}:{self.port}/{database}"

    def admin(self):
        """An autocommit connection to the maintenance database (CREATE DATABASE cannot
        run inside a transaction)."""
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, template: str = "template1") -> str:
        name = f"t{os.getpid()}_{next(_names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test's database (its connections closed first), so a long session does
        not fill /tmp."""
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def fresh_database(self, template: str = "template1"):
        name = self.create_database(template)
        try:
            yield self.url(name)
        finally:
            _close_connections()
            self.drop_database(name)


def pg_bindir() -> str | None:
    """The newest installed server's bin folder."""
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.path.isfile(os.path.join(d, "pg_ctl"))]
    return max(found, key=lambda d: int(Path(d).parent.name)) if found else None


def _server_user() -> str | None:
    """None when we are not root (the server then runs as us); else the postgres user,
    created with useradd the first time."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)
    return PG_USER


def _as(user: str | None, argv: list[str], folder: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a server program as ``user``, in ``folder`` (the test's own working directory
    is root's, which initdb cannot even look at)."""
    return subprocess.run(argv, user=user, cwd=folder, capture_output=True, text=True, check=False, **kwargs)


def _start(bindir: str, folder: str, user: str | None, durable: bool = False) -> PgServer:
    """initdb and start a server; ``durable`` keeps PostgreSQL's default fsync and
    synchronous commit (benchmarks), the tests turn both off for speed."""
    data = os.path.join(folder, "data")
    init = _as(user, [f"{bindir}/initdb", "-D", data, "-U", DB_SUPERUSER, "--auth=trust", "-E", "UTF8",
                      "--locale=C", "--no-sync"], folder, timeout=120)
    assert init.returncode == 0, init.stdout[-2000:] + init.stderr[-2000:]
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    start = _as(user, [f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(folder, "log"),
                       "-w", "-t", "60", "start"], folder, timeout=90)
    log = Path(folder, "log").read_text(errors="replace")[-2000:] if Path(folder, "log").exists() else ""
    assert start.returncode == 0, start.stdout[-2000:] + start.stderr[-2000:] + log
    pid = int(Path(data, "postmaster.pid").read_text().split()[0])
    return PgServer("127.0.0.1", port, folder, pid)


def _stop(bindir: str, folder: str, user: str | None, pid: int) -> None:
    """pg_ctl stop (fast); the postmaster killed by PID when it does not go."""
    _as(user, [f"{bindir}/pg_ctl", "-D", os.path.join(folder, "data"), "-m", "fast", "-w", "-t", "20", "stop"],
        folder, timeout=40)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):  # its backends notice the postmaster's death and exit
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (a PgServer)."""
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                    "(Debian package `postgresql`; .ci/run installs it)")
    user = _server_user()
    folder = tempfile.mkdtemp(prefix="mlctl-pg-", dir="/tmp")  # a unix socket path must stay short
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = None
    try:
        server = _start(bindir, folder, user)
        yield server
    finally:
        if server is not None:
            _stop(bindir, folder, user, server.pid)
        shutil.rmtree(folder, ignore_errors=True)


def _close_connections() -> None:
    """Close this process's backend connections (mlctl keeps one per URL)."""
    import sys

    if "mlctl.tracking.pgdb" in sys.modules:
        sys.modules["mlctl.tracking.db"].forget_all()
    if "mlctl.store.backend.connection" in sys.modules:  # servers found unreachable, remembered a while
        sys.modules["mlctl.store.backend.connection"]._unreachable.clear()


def use_backend(request, monkeypatch) -> str:
    """For a ``backend`` fixture parametrized over a local kind and "postgresql": with
    the latter, MLCTL_BACKEND_URL names a fresh database with the schema in place (and
    subprocesses inherit it). Returns the parameter."""
    if request.param == "postgresql":
        monkeypatch.setenv("MLCTL_BACKEND_URL", request.getfixturevalue("pg_backend_url"))
    return request.param


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a fresh, empty database on the session's server."""
    with pg_server.fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_schema_template(pg_server) -> str:
    """A template database holding the current mlctl schema, made once per session."""
    from mlctl.store.backend import schema
    from mlctl.store.backend.connection import connect

    with pg_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{SCHEMA_TEMPLATE}"')
    with contextlib.closing(connect(pg_server.url(SCHEMA_TEMPLATE))) as conn:
        schema.init(conn)
    return SCHEMA_TEMPLATE


@pytest.fixture
def pg_backend_url(pg_server, pg_schema_template) -> str:
    """The URL of a fresh database with the mlctl schema in place."""
    with pg_server.fresh_database(pg_schema_template) as url:
        yield url
