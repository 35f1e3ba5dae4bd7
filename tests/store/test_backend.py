"""The team backend's foundation against a real PostgreSQL server (tests/pgfixtures.py):
the URL and its credentials, the versioned schema, `mlctl backend init|status`, the
session lock that keeps retrains on two machines apart."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT, one_error
from tests.data.conftest import free_port


def test_server_is_real_unprivileged_and_fast(pg_server):
    with pg_server.admin() as conn:
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL")
    assert os.stat(f"/proc/{pg_server.pid}").st_uid != 0  # PostgreSQL refuses root
    assert Path(pg_server.socket_dir, f".s.PGSQL.{pg_server.port}").exists()


def test_each_test_gets_a_fresh_database(pg_server, pg_url):
    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                            "('pg_catalog', 'information_schema')").fetchone()[0] == 0
        conn.execute("CREATE TABLE mine (x int)")
    assert pg_server.create_database() != pg_url.rsplit("/", 1)[1]


# -- the URL --------------------------------------------------------------------------------
def test_a_password_is_refused_in_the_tracked_config(repo, cli):
    res = cli("config", "set", "backend.url", "postgresql://u:pw@h/db")
    line = one_error(res, 2, "--local", "MLCTL_BACKEND_URL", "PGPASSWORD", ".pgpass")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "pw" not in (repo.dot / "config.yaml").read_text() and "pw@" not in line
    assert cli("config", "set", "--local", "backend.url", "postgresql://u:pw@h/db").exit_code == 0
    assert cli("config", "set", "backend.url", "postgresql://u@h/db").exit_code == 0  # no password: fine
    shown = cli("config", "list", "--json").json()
    assert shown["backend.url"] == "postgresql://u:****@h/db"  # config.local.yaml wins, masked


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h:port/db", "postgresql://u@h/", "not a url"])
def test_a_bad_url_is_exit_2(repo, cli, url):
    one_error(cli("config", "set", "backend.url", url), 2, "backend.url")
    res = cli("backend", "status", env={"MLCTL_BACKEND_URL": url})
    one_error(res, 2, "invalid backend URL")


def test_the_environment_overrides_the_config(repo, cli, pg_backend_url):
    cli("config", "set", "backend.url", f"postgresql://nobody@127.0.0.1:{free_port()}/nothing")
    report = cli("backend", "status", "--json", env={"MLCTL_BACKEND_URL": pg_backend_url}).json()
    assert report["url"] == pg_backend_url and report["url_source"] == "env" and report["reachable"] is True


# -- the schema -----------------------------------------------------------------------------
def _connect(url):
    from mlctl.store.backend.connection import connect

    return contextlib.closing(connect(url))


def test_init_creates_then_finds_it_up_to_date(repo, cli, pg_url):
    from mlctl.store.backend import schema

    cli("config", "set", "backend.url", pg_url)
    first = cli("backend", "init", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json() == {"url": pg_url, "schema_from": 0, "schema_version": schema.LATEST}
    again = cli("backend", "init", "--json").json()
    assert again["schema_from"] == again["schema_version"] == schema.LATEST
    with _connect(pg_url) as conn:
        assert schema.check(conn) == schema.LATEST
        rows = conn.execute("SELECT version FROM mlctl_schema ORDER BY version").fetchall()
        assert [r[0] for r in rows] == sorted(schema.MIGRATIONS)  # every step, in order
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'mlctl'")}
        assert {"runs", "points", "latest", "mlctl_schema"} <= tables


def test_concurrent_inits_apply_each_step_once(pg_url):
    from mlctl.store.backend import schema

    errors = []

    def one():
        try:
            with _connect(pg_url) as conn:
                schema.init(conn)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with _connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM mlctl_schema").fetchone()[0] == len(schema.MIGRATIONS)


def test_a_client_older_than_the_schema_refuses(repo, cli, pg_backend_url):
    from mlctl.store.backend import schema

    with _connect(pg_backend_url) as conn:
        conn.execute("INSERT INTO mlctl_schema (version, mlctl) VALUES (%s, 'future')", (schema.LATEST + 5,))
    cli("config", "set", "backend.url", pg_backend_url)
    one_error(cli("backend", "init"), 2, f"the backend's schema is version {schema.LATEST + 5}, "
                                         f"this mlctl knows up to {schema.LATEST}; upgrade mlctl")
    with _connect(pg_backend_url) as conn, pytest.raises(schema.SchemaTooNew):
        schema.check(conn)


def test_a_missing_schema_asks_for_init(pg_url):
    from mlctl.errors import UsageError
    from mlctl.store.backend import schema

    with _connect(pg_url) as conn, pytest.raises(UsageError, match="no mlctl schema") as caught:
        schema.check(conn)
    assert "mlctl backend init" in caught.value.hint


def test_a_failed_migration_leaves_the_previous_version(pg_backend_url, monkeypatch):
    from mlctl.store.backend import schema

    broken = {**schema.MIGRATIONS, schema.LATEST + 1: ("CREATE TABLE extra (x int)", "SELECT no_such_function()")}
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "LATEST", schema.LATEST + 1)
    with _connect(pg_backend_url) as conn:
        with pytest.raises(Exception, match="no_such_function"):
            schema.init(conn)
        assert schema.version(conn) == schema.LATEST - 1
        assert conn.execute("SELECT to_regclass('mlctl.extra')").fetchone()[0] is None


# -- status and errors ----------------------------------------------------------------------
def test_status_without_a_backend(repo, cli):
    report = cli("backend", "status", "--json").json()
    assert report["backend"] == "local" and report["url"] is None and report["reachable"] is None
    assert report["locations"] == {"runs": "sqlite", "registry": "refs", "drift_records": "sqlite",
                                   "artifacts": "objects"}


def test_status_shows_the_url_without_its_password(repo, cli, pg_backend_url):
    from mlctl.store.backend import schema

    with_password = pg_backend_url.replace("mlctl@", "mlctl:s3cret@")  # trust auth: ignored by the server
    res = cli("backend", "status", "--json", env={"MLCTL_BACKEND_URL": with_password})
    assert res.exit_code == 0 and "s3cret" not in res.stdout
    report = res.json()
    assert report["url"] == pg_backend_url.replace("mlctl@", "mlctl:****@")
    assert report["reachable"] is True and report["schema_version"] == schema.LATEST
    assert report["server_version"].split(".")[0].isdigit()
    assert report["locations"] == {"runs": "postgresql", "registry": "postgresql", "drift_records": "postgresql",
                                   "artifacts": "objects"}
    text = cli("backend", "status", env={"MLCTL_BACKEND_URL": with_password})
    assert "reachable" in text.stdout and "s3cret" not in text.stdout


def test_unreachable_backend(repo, cli):
    url = f"postgresql://mlctl@127.0.0.1:{free_port()}/db"
    report = cli("backend", "status", "--json", env={"MLCTL_BACKEND_URL": url})
    assert report.exit_code == 0  # a report command
    assert report.json()["reachable"] is False and "unreachable" in report.json()["error"]
    one_error(cli("backend", "init", env={"MLCTL_BACKEND_URL": url}), 2, "unreachable", url)


def test_a_database_that_does_not_exist_is_exit_2(repo, cli, pg_server):
    one_error(cli("backend", "init", env={"MLCTL_BACKEND_URL": pg_server.url("no_such_db")}), 2,
              "refused the connection", "does not exist")


def test_init_without_a_url(repo, cli):
    one_error(cli("backend", "init"), 2, "no backend is configured")


def test_a_schema_at_version_1_migrates_to_the_registry_and_drift_tables(pg_url, monkeypatch):
    from mlctl.store.backend import schema

    with _connect(pg_url) as conn:
        with monkeypatch.context() as m:  # a backend made by the mlctl before the registry moved in
            m.setattr(schema, "LATEST", 1)
            assert schema.init(conn) == {"from": 0, "to": 1}
        assert schema.init(conn) == {"from": 1, "to": schema.LATEST}
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'mlctl'")}
        assert {"models", "model_versions", "model_records", "model_aliases", "alias_history", "deployments",
                "checks"} <= tables


@pytest.mark.parametrize("name", ["retrain churn", "retrain a", "retrain " + "x" * 60])  # positive and negative keys
def test_a_session_lock_names_its_holder_and_goes_with_its_session(pg_backend_url, name):
    from mlctl.store.backend.session_lock import held

    with held(pg_backend_url, name) as first:
        assert first is None
        with held(pg_backend_url, name) as second:
            assert second.startswith(f"pid {os.getpid()} on ")
        with held(pg_backend_url, name + "!") as other:
            assert other is None  # another name, another lock
    for _ in range(30):  # released at once: taken again right away, every time
        with held(pg_backend_url, name) as again:
            assert again is None


def test_a_session_lock_of_a_killed_process_is_released(pg_backend_url):
    from mlctl.store.backend.session_lock import held

    code = ("import sys, time; from mlctl.store.backend.session_lock import held\n"
            "with held(sys.argv[1], 'retrain churn') as h:\n"
            "    print('held' if h is None else 'busy', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, pg_backend_url], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(PROJECT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with held(pg_backend_url, "retrain churn") as busy:
            assert busy == f"pid {holder.pid} on {socket.gethostname()}"
        holder.kill()
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:
            with held(pg_backend_url, "retrain churn") as state:
                if state is None or time.monotonic() > deadline:
                    break
            time.sleep(0.1)
        assert state is None
    finally:
        holder.kill()
        holder.stdout.close()
