"""Liveness on the PostgreSQL backend when the owner is dead but the server has not yet
noticed: a reader on the owner's machine asks the kernel, a reader elsewhere keeps to
the advisory lock (mlctl/tracking/pgowner.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap

import psycopg
import pytest

from mlctl.tracking import db as runs_db
from mlctl.tracking import pgowner
from mlctl.tracking.pgdb import lock_key
from mlctl.tracking.runs import get_run
from tests.conftest import PROJECT


@pytest.fixture
def backend(isolated_env, pg_backend_url, monkeypatch) -> str:
    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    return "postgresql"


def _held(url: str, token: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(token),)).fetchone()[0] is False


def test_a_killed_owner_reads_as_killed_while_its_session_lives_on(repo, tmp_path, backend, pg_backend_url):
    # the owner hands a copy of its connection's socket to a sleeping child: the server
    # sees no closed socket when the owner dies, so its lock stays held
    script = tmp_path / "owner.py"
    script.write_text(textwrap.dedent("""
        import os, subprocess, sys, time, mlctl
        from mlctl.tracking import db
        run = mlctl.start_run(experiment="orphan")
        run.log_metric("loss", 0.5, step=0)
        run.flush()
        sock = db.database(run.repo).raw.fileno()
        keeper = subprocess.Popen(["sleep", "60"], pass_fds=[sock])
        print(run.id, keeper.pid, flush=True)
        time.sleep(60)
    """))
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with subprocess.Popen([sys.executable, str(script)], cwd=repo.root, env=env, stdout=subprocess.PIPE,
                          text=True) as proc:
        run_id, keeper = proc.stdout.readline().split()
        try:
            owner = _owner(repo, run_id)
            assert get_run(repo, run_id).status == "running"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert _held(pg_backend_url, owner)  # the server still thinks the owner is there
            run = get_run(repo, run_id)
            assert run.status == "killed" and run.metrics == {"loss": 0.5}
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(keeper), signal.SIGKILL)


def _owner(repo, run_id: str) -> str:
    db = runs_db.database(repo)
    with db.read() as conn:
        return conn.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


@pytest.fixture
def hold(pg_backend_url):
    """hold(token): take the token's advisory lock on a connection of its own, as its
    owner would; released at the end of the test."""
    conns = []

    def take(token: str) -> str:
        conn = psycopg.connect(pg_backend_url, autocommit=True)
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(token),))
        conns.append(conn)
        return token

    yield take
    for conn in conns:
        conn.close()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_reader_in_the_owners_place_sees_a_dead_or_reused_pid(repo, backend, hold):
    db = runs_db.database(repo)
    place, me = pgowner.here(), os.getpid()
    assert place is not None  # Linux: the tests run where /proc is readable
    mine = pgowner.start_time(me)
    alive = hold(f"pg-host-{me}-00000000~{place}-{mine}")
    gone = hold(f"pg-host-{_dead_pid()}-00000000~{place}-{mine}")
    reused = hold(f"pg-host-{me}-00000001~{place}-{mine + 1}")
    assert db.alive_owners([alive, gone, reused]) == {alive}


def test_a_reader_elsewhere_keeps_to_the_lock(repo, backend, hold):
    db = runs_db.database(repo)
    pid = _dead_pid()
    elsewhere = hold(f"pg-host-{pid}-00000000~{'0' * 16}-1")  # another machine's pid space
    old_format = hold(f"pg-host-{pid}-00000001")  # no place: written before places
    released = f"pg-host-{pid}-00000002~{'0' * 16}-1"  # nobody holds it
    assert db.alive_owners([elsewhere, old_format, released]) == {elsewhere, old_format}


def test_a_token_says_where_its_process_lives():
    token = pgowner.new_token()
    assert token.startswith("pg-") and f"-{os.getpid()}-" in token
    assert token.endswith(f"~{pgowner.here()}-{pgowner.start_time(os.getpid())}")
    assert not pgowner.known_dead(token)
