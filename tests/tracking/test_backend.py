"""What is particular to runs on the PostgreSQL backend: carrying a clone's SQLite runs
into it, its errors, and values SQLite holds that JSONB and text columns spell otherwise."""

from __future__ import annotations

import math

import pytest

import mlctl
from mlctl.tracking.runs import get_run, list_runs
from mlctl.tracking.writes import create_run
from tests.conftest import one_error
from tests.data.conftest import free_port


@pytest.fixture
def backend(isolated_env, pg_backend_url) -> str:
    """PostgreSQL, named by each repository's config.local.yaml (not the environment),
    so that one test can hold a clone without it."""
    return pg_backend_url


def _use_backend(cli, repo, url) -> None:
    from mlctl.tracking import db

    repo.config.set("backend.url", url, local=True)
    db.forget_all()  # as a new command would, open the index the config now names


def test_a_clones_sqlite_runs_are_carried_into_the_backend(cli, two_clones, backend, monkeypatch):
    laptop, server_side = two_clones("laptop", "team")
    with mlctl.start_run(repo=laptop.root, experiment="old", params={"C": 2}) as run:
        for step in range(20):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        path = laptop.root / "model.bin"
        path.write_bytes(b"weights")
        run.log_artifact(path)
    assert cli("run", "push", "--json").json()["runs"] == [run.id]
    _use_backend(cli, server_side, backend)
    monkeypatch.chdir(server_side.root)
    assert cli("run", "pull", "--json").json()["runs"] == [run.id]
    there, here = get_run(server_side, run.id), get_run(laptop, run.id)
    assert there.to_json() | {"origin": None} == here.to_json() | {"origin": None}
    assert there.metric_history("loss") == here.metric_history("loss")
    assert server_side.objects.get_bytes(there.artifacts["model.bin"]) == b"weights"
    assert cli("backend", "status", "--json").json()["locations"]["runs"] == "postgresql"
    assert cli("run", "pull", "--json").json()["runs"] == []  # idempotent


def test_a_teammates_run_shows_at_once_and_its_artifacts_follow_its_push(cli, two_clones, backend, monkeypatch):
    """Two clones of one backend: alice's run is in bob's listing as it ends; its artifacts
    are in alice's store until she pushes. Meanwhile bob's `run list --json` and `run show`
    say so (artifacts null, one line) instead of failing, `run artifacts` names where they
    are not (exit 2), and fsck calls them missing; once pushed, they are `not_here` (ok),
    a read fetches them from the remote (the UI's download too), and `run pull` brings
    the rest."""
    from tests.ui.conftest import ThreadServer

    alice, bob = two_clones("alice", "bob")
    for clone in (alice, bob):
        _use_backend(cli, clone, backend)
    monkeypatch.chdir(alice.root)
    with mlctl.start_run(repo=alice.root, experiment="team") as first:
        pass
    assert cli("run", "push").exit_code == 0  # a remote that holds something, not alice's next run
    with mlctl.start_run(repo=alice.root, experiment="team") as run:
        (alice.root / "notes.txt").write_text("alice's notes")
        run.log_artifact(alice.root / "notes.txt")
    monkeypatch.chdir(bob.root)
    listed = cli("run", "list", "--json").json()[0]
    assert listed["id"] == run.id and listed["artifacts"] is None
    assert "not on the remote yet" in cli("run", "show", run.id).stdout
    refused = cli("run", "artifacts", run.id)
    one_error(refused, 2, f"the artifact list of run {run.id}", "not in the local store nor on remote origin")
    assert "`mlctl run push`" in refused.stderr
    lost = cli("fsck", "--json")
    assert lost.exit_code == 1 and lost.json()["missing"][0]["what"] == f"run {run.id} artifacts tree"

    monkeypatch.chdir(alice.root)
    assert cli("run", "push").exit_code == 0
    monkeypatch.chdir(bob.root)
    report = cli("fsck", "--json")
    assert report.exit_code == 0 and {n["what"] for n in report.json()["not_here"]} == {
        f"run {run.id} artifacts tree", f"run {run.id} record", f"run {first.id} record"}
    with ThreadServer(bob) as client:
        page = client.get(f"/api/runs/{run.id}").json()  # fetches the tree: the list is known now
        assert [a["path"] for a in page["artifacts"]] == ["notes.txt"] and not page["artifacts_elsewhere"]
        assert client.get(f"/api/runs/{run.id}/artifacts/notes.txt").text == "alice's notes"
    with mlctl.start_run(repo=alice.root, experiment="team") as second:
        (alice.root / "plot.txt").write_text("a plot")
        second.log_artifact(alice.root / "plot.txt")
    monkeypatch.chdir(alice.root)
    assert cli("run", "push").exit_code == 0
    monkeypatch.chdir(bob.root)
    # three records, the second run's tree and file; the first run's artifacts came with the reads
    assert cli("run", "pull", "--json").json()["objects"] == 5
    assert cli("fsck", "--json").json()["not_here"] == []
    assert bob.objects.get_bytes(get_run(bob, second.id).artifacts["plot.txt"]) == b"a plot"


def test_backend_import_copies_the_clones_ended_runs_once(repo, cli, backend):
    """Ended runs go over whole (params, every point, tags, artifacts); running and deleted
    ones stay; a second import changes nothing; a run changed here since is replaced, one
    newer on the backend is left alone."""
    from mlctl.tracking import db
    from mlctl.tracking.edit import delete_runs, tag_run

    with mlctl.start_run(repo=repo.root, experiment="old", params={"C": 2}) as kept:
        for step in range(30):
            kept.log_metric("loss", 1.0 / (step + 1), step=step)
        (repo.root / "model.bin").write_bytes(b"weights")
        kept.log_artifact(repo.root / "model.bin")
    later = create_run(repo, experiment="old", params={"C": 3}, status="finished")
    running = create_run(repo, experiment="old", status="running")
    gone = create_run(repo, experiment="old", status="finished")
    delete_runs(repo, [gone.id])
    local = {r.id: (get_run(repo, r.id).to_json(), get_run(repo, r.id).metric_history("loss")) for r in (kept, later)}

    _use_backend(cli, repo, backend)
    assert list_runs(repo) == []
    first = cli("backend", "import", "--json").json()["runs"]
    assert first == {"runs": 4, "added": 2, "replaced": 0, "unchanged": 0, "running": 1, "deleted": 1}
    for run_id, (shown, history) in local.items():
        there = get_run(repo, run_id)
        assert there.to_json() | {"origin": None} == shown | {"origin": None}
        assert there.metric_history("loss") == history
    assert sorted(r.id for r in list_runs(repo)) == sorted(local)  # not the running nor the deleted one
    assert running.id not in {r.id for r in list_runs(repo)} and gone.id not in local
    assert cli("backend", "import", "--json").json()["runs"]["unchanged"] == 2  # idempotent

    tag_run(repo, later.id, {"note": "newer on the backend"})  # the backend's copy moves on
    repo.config.unset("backend.url", local=True)
    db.forget_all()
    tag_run(repo, kept.id, {"note": "changed in the clone"})  # the clone's copy moves on
    _use_backend(cli, repo, backend)
    again = cli("backend", "import", "--json").json()["runs"]
    assert (again["replaced"], again["unchanged"]) == (1, 1)
    assert get_run(repo, kept.id).tags["note"] == "changed in the clone"
    assert get_run(repo, later.id).tags["note"] == "newer on the backend"


def test_backend_import_without_a_backend_is_exit_2(repo, cli):
    one_error(cli("backend", "import"), 2, "no backend is set")


def test_values_sqlite_holds_read_back_the_same(repo, cli, backend):
    _use_backend(cli, repo, backend)
    run = create_run(repo, params={"inf": math.inf, "big": 2**70, "f": 0.30000000000000004, "s": "x\x00y"},
                     metrics=[("up", 0, math.inf, None), ("nan", 0, math.nan, None), ("tiny", 0, 1e-300, None)],
                     status="finished")
    stored = get_run(repo, run.id)
    assert stored.params == {"inf": math.inf, "big": 2**70, "f": 0.30000000000000004, "s": "x\ufffdy"}
    assert stored.metrics["up"] == math.inf and math.isnan(stored.metrics["nan"]) and stored.metrics["tiny"] == 1e-300
    for expr in ("params.inf == inf", "metrics.up > 1e308", "params.f == 0.30000000000000004", "metrics.nan == nan",
                 "params.big > 1180591620717411303423"):
        assert [r.id for r in list_runs(repo, filter_expr=expr)] == [run.id], expr
    assert list_runs(repo, filter_expr="params.f == 0.3") == []


def test_text_sorts_bytewise_whatever_the_locale(repo, cli, backend):
    _use_backend(cli, repo, backend)
    for name in ("b", "B", "a", "_"):
        create_run(repo, name=name, tags={"t": name}, status="finished")
    assert [r.name for r in list_runs(repo, sort="name")] == ["B", "_", "a", "b"]
    assert [r.tags["t"] for r in list_runs(repo, sort="-tags.t")] == ["b", "a", "_", "B"]


def test_a_sort_read_from_the_metric_index_orders_as_the_full_sort(repo, cli, backend, monkeypatch):
    """sql_pg's sort_driver: the same runs in the same order as sorting every match, with
    ties (newest id first), NaN, -0.0, inf, a run without the metric, a second sort key
    and pages."""
    from mlctl.tracking import runs, sql_pg

    _use_backend(cli, repo, backend)
    for i, acc in enumerate([0.5, 0.9, 0.9, math.nan, 0.7, -0.0, 0.0, math.inf, 0.9]):
        create_run(repo, params={"i": i, "g": i % 2}, metrics=[("acc", 0, acc, None)], status="finished")
    create_run(repo, params={"i": 99}, status="finished")
    cases = [("metrics.acc > -1", "-metrics.acc"), ("metrics.acc >= 0 and params.g == 1", "metrics.acc"),
             ("metrics.acc < 1", ["-metrics.acc", "params.g"]), ("params.i < 50 and metrics.acc == 0.9", "metrics.acc")]

    def listed(flt, sort, **page):
        return [r.params["i"] for r in list_runs(repo, filter_expr=flt, sort=sort, **page)]

    driven = {}
    for flt, sort in cases:
        assert runs._driven(sql_pg.PgCompiler, flt, sort) is not None, flt
        driven[flt] = listed(flt, sort), listed(flt, sort, limit=2, offset=1)
    for flt in ("metrics.acc > 0 or params.i == 99", "not metrics.acc < 0", "metrics.acc != 0.5", "params.i >= 0",
                "metrics.acc == nan"):  # a run without the metric could match: the full sort
        assert runs._driven(sql_pg.PgCompiler, flt, "-metrics.acc") is None, flt
    monkeypatch.setattr(sql_pg.PgCompiler, "sort_driver", staticmethod(lambda node, keys: None))
    for flt, sort in cases:  # the full sort, as without the index
        full = listed(flt, sort)
        assert driven[flt] == (full, full[1:3]), (flt, sort)
    assert driven["metrics.acc > -1"][0] == [7, 8, 2, 1, 4, 0, 6, 5]


def test_a_backend_without_the_schema_or_server(repo, cli, pg_url):
    _use_backend(cli, repo, pg_url)
    one_error(cli("run", "list"), 2, "no mlctl schema")
    _use_backend(cli, repo, f"postgresql://mlctl@127.0.0.1:{free_port()}/x")
    one_error(cli("run", "log", "-p", "a=1"), 2, "unreachable")
    status = cli("status", "--json")
    assert status.exit_code == 0 and "unreachable" in status.json()["runs"]["error"]
    for section in ("models", "drift", "serving", "retrain"):  # each reads the backend
        assert "unreachable" in status.json()[section]["error"], section


def test_a_connection_lost_mid_command_is_exit_3_and_the_next_command_reconnects(repo, cli, backend, pg_server):
    from mlctl.tracking import pgdb

    _use_backend(cli, repo, backend)
    run_id = create_run(repo, status="finished").id
    [db] = pgdb._open.values()
    with pg_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (db.raw.info.backend_pid,))
    one_error(cli("run", "list"), 3, "the backend failed")
    assert [r.id for r in list_runs(repo)] == [run_id]


def test_a_silent_server_costs_one_connect_timeout_not_one_per_status_section(repo, cli):
    """A server that takes connections and never answers (a black-holed host, a hung
    postmaster): `mlctl status` waits out one connect timeout, then every section that
    reads the backend says unreachable at once."""
    import socket
    import time

    from mlctl.store.backend import connection

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshakes; nothing ever answers
    try:
        _use_backend(cli, repo, f"postgresql://mlctl@127.0.0.1:{silent.getsockname()[1]}/db?connect_timeout=2")
        started = time.monotonic()
        status = cli("status", "--json")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        connection._unreachable.clear()
    assert status.exit_code == 0
    for section in ("runs", "models", "drift", "serving", "retrain"):
        assert "unreachable" in status.json()[section]["error"], section
    assert elapsed < 2 * 2 + 1.5, elapsed  # one timeout (libpq may try twice: IPv4, then without SSL)


def _round_trips(db, trace_path, action) -> int:
    """How many times ``action`` waits on the server: libpq's trace of the messages this
    client sends, counting Sync (ends an extended-protocol exchange) and Query."""
    from psycopg import pq

    with open(trace_path, "w") as trace:
        db.raw.pgconn.trace(trace.fileno())
        db.raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            action()
        finally:
            db.raw.pgconn.untrace()
    sent = [line.split("\t")[2] for line in trace_path.read_text().splitlines() if line.startswith("F\t")]
    return sent.count("Sync") + sent.count("Query")


def test_a_metric_batch_is_one_round_trip(repo, cli, backend, tmp_path):
    from mlctl.errors import NotFoundError
    from mlctl.tracking.db import database
    from mlctl.tracking.writes import finish_run, log_batch

    _use_backend(cli, repo, backend)
    run = create_run(repo, params={"a": 1}, metrics=[("acc", 5, 0.9, None)], status="running")
    db = database(repo)
    points = [("loss", step, 1.0 / (step + 1), None) for step in range(1000)] + [("acc", 2, 0.1, None)]
    batch = lambda: log_batch(repo, run.id, points, params={"b": 2}, tags={"t": "x"}, env={"E": "1"})  # noqa: E731
    assert _round_trips(db, tmp_path / "trace", batch) == 1
    end = lambda: finish_run(repo, run.id, points=[("loss", 1000, math.nan, None)], tags={"u": "y"})  # noqa: E731
    assert _round_trips(db, tmp_path / "trace", end) == 1
    stored = get_run(repo, run.id)
    assert stored.status == "finished" and stored.params == {"a": 1, "b": 2} and stored.tags == {"t": "x", "u": "y"}
    assert stored.env["E"] == "1"
    assert stored.metrics["acc"] == 0.9  # an older step does not move the latest value
    assert math.isnan(stored.metrics["loss"]) and len(stored.metric_history("loss")) == 1001
    with pytest.raises(NotFoundError, match="unknown run"):
        log_batch(repo, "0" * 26, points)
    assert db.conn.execute("SELECT count(*) FROM points WHERE run_id = ?", ("0" * 26,)).fetchone()[0] == 0
