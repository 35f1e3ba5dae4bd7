#!/usr/bin/env python3
"""mlctl on the PostgreSQL backend vs MLflow's tracking server on the same PostgreSQL (issue 21).

One PostgreSQL server, started here (tests/pgfixtures.py's helpers; fsync and synchronous
commit on, as in production), two databases: one for mlctl (`mlctl backend init`, every
client talks to PostgreSQL directly) and one for `mlflow server --backend-store-uri
postgresql://...` (its own venv, benchmarks/.venvs/mlflow-pg; clients talk HTTP to it).
Workloads, each timed as whole processes, the tools alternating round by round:

1. one run, 10,000 metric points logged one call at a time;
2. a 1,000-run sweep (10 params + 5 metrics each) from 8 concurrent client processes;
3. `mlctl run list --filter ... --sort -metrics.m0` vs MLflow's `search_runs` with the same
   filter and order_by, over 100,000 and 1,000,000 runs. The runs are made by SQL, not the
   APIs: a few runs are logged through each tool's API, then their rows are cloned inside
   PostgreSQL with new ids and per-run values (so every row is shaped as the tool writes
   it), and the clones' values are checked against runs the API made.

    python benchmarks/tracking_backend.py [--repeat 3] [--sizes 100000,1000000] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from _common import WORK_ROOT, add_smoke_flag, anchor_venv, print_table  # noqa: E402

PROJECT = HERE.parent
PY = sys.executable
WORK = WORK_ROOT / "tracking-backend"
CLIENTS = 8
PARAMS = [f"p{k}" for k in range(9)] + ["model"]
METRICS = [f"m{k}" for k in range(5)]
FILTER_MLCTL = "metrics.m0 > 0.5 and params.model == 'rf'"
FILTER_MLFLOW = "metrics.m0 > 0.5 and params.model = 'rf'"
TARGETS = {"points": "<= 0.1x", "sweep": "<= 0.1x", "list": "< 1 s at 1,000,000"}

# the sweep's run i: its params and metrics (the SQL clones below compute the same)
SWEEP_VALUES = """
def params_of(i):
    params = {f"p{k}": k * i for k in range(9)}
    params["model"] = "rf" if i % 2 else "svm"
    return params

def metrics_of(i):
    return {f"m{k}": ((i * 7919 + k * 104729) % 1000) / 1000 for k in range(5)}
"""
MLCTL_POINTS = """
import mlctl
with mlctl.start_run(experiment="points") as run:
    for i in range({n}):
        run.log_metric("loss", 1.0 / (i + 1), step=i)
"""
MLFLOW_POINTS = """
import mlflow
mlflow.set_experiment("points")
with mlflow.start_run():
    for i in range({n}):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
"""
MLCTL_SWEEP = SWEEP_VALUES + """
import sys, mlctl
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    with mlctl.start_run(experiment=EXPERIMENT, params=params_of(i)) as run:
        run.log_metrics(metrics_of(i))
"""
MLFLOW_SWEEP = SWEEP_VALUES + """
import sys, mlflow
mlflow.set_experiment(EXPERIMENT)
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    with mlflow.start_run():
        mlflow.log_params(params_of(i))
        mlflow.log_metrics(metrics_of(i))
"""
# N runs from CLIENTS processes at once; the timed process is this driver
CONCURRENT = """
import subprocess, sys
n, clients = {n}, {clients}
share = -(-n // clients)
procs = [subprocess.Popen([sys.executable, {worker!r}, str(c * share), str(min(n, (c + 1) * share))])
         for c in range(clients)]
sys.exit(max(p.wait() for p in procs))
"""
MLFLOW_SEARCH = """
import os
from mlflow import MlflowClient
client = MlflowClient()
exp = client.get_experiment_by_name("list")
runs = client.search_runs([exp.experiment_id], filter_string={flt!r}, order_by=["metrics.m0 DESC"], max_results=1000)
for r in runs:
    print(r.info.run_id, r.data.params.get("p1"), r.data.metrics.get("m0"))
"""
# SQL twins of params_of / metrics_of, over generate_series' g and a template row's key
METRIC_SQL = "mod(g::bigint * 7919 + {k} * 104729, 1000)::float8 / 1000"  # past int4 at 1M
PARAM_SQL = "(CASE WHEN mod(g, 2) = 1 THEN 'rf' ELSE 'svm' END)"


class Postgres:
    """A durable PostgreSQL server in a temp folder (tests/pgfixtures.py's helpers)."""

    def __init__(self):
        from tests import pgfixtures

        self.fixtures = pgfixtures
        self.bindir = pgfixtures.pg_bindir()
        self.user = pgfixtures._server_user()
        self.folder = tempfile.mkdtemp(prefix="mlctl-bench-pg-", dir="/tmp")
        if self.user is not None:
            import pwd

            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.server = pgfixtures._start(self.bindir, self.folder, self.user, durable=True)

    def create(self, name: str) -> str:
        with self.server.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.server.url(name)

    def connect(self, name: str):
        import psycopg

        return psycopg.connect(self.server.url(name), autocommit=True)

    def stop(self) -> None:
        self.fixtures._stop(self.bindir, self.folder, self.user, self.server.pid)
        shutil.rmtree(self.folder, ignore_errors=True)


def run(argv, env, cwd, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"step failed: {' '.join(map(str, argv[:6]))}\n{proc.stdout[-1500:]}{proc.stderr[-3000:]}")
    return proc


def timed(argv, env, cwd) -> float:
    started = time.perf_counter()
    run(argv, env, cwd)
    return time.perf_counter() - started


def script(name: str, code: str) -> str:
    path = WORK / "scripts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return str(path)


# -- the two tools --------------------------------------------------------------------------
class Mlctl:
    label = "mlctl"

    def __init__(self, pg: Postgres, db: str):
        self.db = db
        self.url = pg.create(db)
        self.env = dict(os.environ, PYTHONPATH=str(PROJECT), MLCTL_BACKEND_URL=self.url)
        self.repo = WORK / f"repo-{db}"
        shutil.rmtree(self.repo, ignore_errors=True)
        self.repo.mkdir(parents=True)
        run(["git", "init", "-q"], self.env, self.repo)
        run([PY, "-m", "mlctl", "-q", "init"], self.env, self.repo)
        run([PY, "-m", "mlctl", "backend", "init"], self.env, self.repo)

    def points(self, n: int):
        path = script("mlctl_points.py", MLCTL_POINTS.format(n=n))
        return lambda: timed([PY, path], self.env, self.repo)

    def sweep(self, n: int, experiment: str = "sweep", clients: int = CLIENTS):
        worker = script(f"mlctl_sweep_{experiment}.py", MLCTL_SWEEP.replace("EXPERIMENT", repr(experiment)))
        driver = script(f"mlctl_sweep_{experiment}_{n}.py", CONCURRENT.format(n=n, clients=clients, worker=worker))
        return lambda: timed([PY, driver], self.env, self.repo)

    def run_list(self):
        argv = [PY, "-m", "mlctl", "run", "list", "--filter", FILTER_MLCTL, "--sort", "-metrics.m0"]
        return lambda: timed(argv, self.env, self.repo)


class Mlflow:
    label = "mlflow"

    def __init__(self, pg: Postgres, db: str):
        from tests.data.conftest import free_port

        self.db = db
        self.bin = anchor_venv("mlflow-pg", "mlflow", "psycopg2-binary")
        url = pg.create(db).replace("postgresql://", "postgresql+psycopg2://")
        self.port = free_port()
        self.cwd = WORK / f"mlflow-{db}"
        shutil.rmtree(self.cwd, ignore_errors=True)
        self.cwd.mkdir(parents=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLCTL_"))}
        self.env.update(GIT_PYTHON_REFRESH="quiet", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{self.port}")
        self.log = open(self.cwd / "server.log", "w")
        self.server = subprocess.Popen(
            [str(self.bin / "mlflow"), "server", "--backend-store-uri", url, "--host", "127.0.0.1",
             "--port", str(self.port), "--default-artifact-root", str(self.cwd / "artifacts")],
            cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 180  # it migrates its schema first
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"mlflow server exited: {(self.cwd / 'server.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            time.sleep(0.5)
        raise SystemExit("mlflow server did not start within 180 s")

    def python(self, path: str, *args) -> list[str]:
        return [str(self.bin / "python"), path, *map(str, args)]

    def points(self, n: int):
        path = script("mlflow_points.py", MLFLOW_POINTS.format(n=n))
        return lambda: timed(self.python(path), self.env, self.cwd)

    def sweep(self, n: int, experiment: str = "sweep", clients: int = CLIENTS):
        worker = script(f"mlflow_sweep_{experiment}.py", MLFLOW_SWEEP.replace("EXPERIMENT", repr(experiment)))
        driver = script(f"mlflow_sweep_{experiment}_{n}.py", CONCURRENT.format(n=n, clients=clients, worker=worker))
        return lambda: timed(self.python(driver), self.env, self.cwd)

    def run_list(self):
        path = script("mlflow_search.py", MLFLOW_SEARCH.format(flt=FILTER_MLFLOW))
        return lambda: timed(self.python(path), self.env, self.cwd)

    def stop(self) -> None:
        """The server and its job workers (huey consumers, in its process group)."""
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, sig)
            time.sleep(wait)
        self.server.wait()
        self.log.close()


# -- cloning runs inside PostgreSQL ---------------------------------------------------------
def columns(conn, table: str, schema: str) -> list[str]:
    """The table's writable columns (an identity column fills itself)."""
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                        "AND table_name = %s AND is_identity = 'NO' AND is_generated = 'NEVER' "
                        "ORDER BY ordinal_position", (schema, table)).fetchall()
    return [r[0] for r in rows]


def clone(conn, schema: str, table: str, key: str, template: str, overrides: dict, first: int, last: int) -> None:
    """Copy the template run's rows of ``table`` once per g in first..last, some columns
    computed from g (and the row's own columns, as t.*)."""
    cols = columns(conn, table, schema)
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    conn.execute(f"INSERT INTO {schema}.{table} ({', '.join(cols)}) SELECT {select} "
                 f"FROM {schema}.{table} t, generate_series({first}, {last}) g WHERE t.{key} = %s", (template,))


def metric_by_key(column: str) -> str:
    return METRIC_SQL.format(k=f"substr({column}, 2)::int")


def mlctl_overrides() -> dict[str, dict]:
    params = ", ".join(f"'{p}', {PARAM_SQL if p == 'model' else f'{p[1:]} * g'}" for p in PARAMS)
    metrics = ", ".join(f"'{m}', {METRIC_SQL.format(k=m[1:])}" for m in METRICS)
    run_id = "substr(t.id, 1, 10) || lpad(g::text, 16, '0')"
    return {
        "runs": {"id": run_id, "params": f"jsonb_build_object({params})", "metrics": f"jsonb_build_object({metrics})",
                 "start_time": "t.start_time + g * 0.001", "end_time": "t.end_time + g * 0.001",
                 "updated": "t.updated + g * 0.001"},
        "latest": {"run_id": "substr(t.run_id, 1, 10) || lpad(g::text, 16, '0')", "value": metric_by_key("t.key")},
        "points": {"run_id": "substr(t.run_id, 1, 10) || lpad(g::text, 16, '0')", "value": metric_by_key("t.key")},
    }


def mlflow_overrides() -> dict[str, dict]:
    value = f"(CASE WHEN t.key = 'model' THEN {PARAM_SQL} ELSE (substr(t.key, 2)::int * g)::text END)"
    run_uuid = "md5(g::text)"
    return {
        "runs": {"run_uuid": run_uuid, "start_time": "t.start_time + g", "end_time": "t.end_time + g"},
        "params": {"run_uuid": run_uuid, "value": value},
        "tags": {"run_uuid": run_uuid},
        "metrics": {"run_uuid": run_uuid, "value": metric_by_key("t.key")},
        "latest_metrics": {"run_uuid": run_uuid, "value": metric_by_key("t.key")},
    }


MLCTL_TABLES = {"runs": "id", "latest": "run_id", "points": "run_id"}
MLFLOW_TABLES = {"runs": "run_uuid", "params": "run_uuid", "tags": "run_uuid", "metrics": "run_uuid",
                 "latest_metrics": "run_uuid"}


def api_runs_mlctl(conn) -> dict[int, tuple]:
    """The runs the API made: sweep index (p1) -> (params, metrics), and the template id."""
    rows = conn.execute("SELECT id, params, metrics FROM mlctl.runs WHERE experiment = 'list'").fetchall()
    return {int(p["p1"]): (r, p, m) for r, p, m in rows}


def check_clone_mlctl(conn, made: dict) -> None:
    """The SQL twin of the sweep gives the values the API wrote."""
    over = mlctl_overrides()["runs"]
    for i, (_rid, params, metrics) in made.items():
        row = conn.execute(f"SELECT {over['params']}, {over['metrics']} FROM generate_series({i}, {i}) g").fetchone()
        assert (row[0], row[1]) == (params, metrics), f"mlctl clone of run {i}: {row} != {(params, metrics)}"


def api_runs_mlflow(conn) -> dict[int, tuple]:
    rows = conn.execute("SELECT r.run_uuid FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
                        "WHERE e.name = 'list'").fetchall()
    made = {}
    for (rid,) in rows:
        params = dict(conn.execute("SELECT key, value FROM params WHERE run_uuid = %s", (rid,)).fetchall())
        metrics = dict(conn.execute("SELECT key, value FROM latest_metrics WHERE run_uuid = %s", (rid,)).fetchall())
        made[int(params["p1"])] = (rid, params, metrics)
    return made


def check_clone_mlflow(conn, made: dict) -> None:
    over = mlflow_overrides()
    for i, (rid, params, metrics) in made.items():
        got_p = dict(conn.execute(f"SELECT t.key, {over['params']['value']} FROM params t, generate_series({i}, {i}) g "
                                  "WHERE t.run_uuid = %s", (rid,)).fetchall())
        got_m = dict(conn.execute(f"SELECT t.key, {over['metrics']['value']} FROM latest_metrics t, "
                                  f"generate_series({i}, {i}) g WHERE t.run_uuid = %s", (rid,)).fetchall())
        assert (got_p, got_m) == (params, metrics), f"mlflow clone of run {i}: {(got_p, got_m)} != {(params, metrics)}"
        counts = [conn.execute(f"SELECT count(*) FROM {t} WHERE run_uuid = %s", (rid,)).fetchone()[0]
                  for t in MLFLOW_TABLES if t != "runs"]
        assert counts[0] == len(PARAMS) and counts[2] == counts[3] == len(METRICS), counts


SEED = 4  # runs logged through each API (indexes 0..3); clones take the indexes after them


def grow(conn, schema: str, tables: dict, overrides: dict, template: str, have: int, want: int) -> None:
    """Clone the template run until the experiment holds ``want`` runs (indexes have..want-1),
    in slices of 100,000 statements' worth."""
    first = have
    while first < want:
        last = min(want - 1, first + 99_999)
        for table, key in tables.items():
            clone(conn, schema, table, key, template, overrides[table], first, last)
        first = last + 1
    conn.execute("VACUUM ANALYZE" if schema != "mlctl" else "VACUUM ANALYZE mlctl.runs")
    if schema == "mlctl":
        for table in ("latest", "points"):
            conn.execute(f"VACUUM ANALYZE mlctl.{table}")


# -- the workloads --------------------------------------------------------------------------
def alternate(name: str, target: str, contenders: dict, repeat: int, rows: list) -> dict:
    """contenders: label -> callable returning seconds; one of each per round."""
    times: dict[str, list[float]] = {label: [] for label in contenders}
    for rnd in range(repeat):
        for label, call in contenders.items():
            times[label].append(call())
        print(f"  {name} round {rnd + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in times.items()),
              file=sys.stderr, flush=True)
    row = {"workload": name, "target": target, "times": times}
    rows.append(row)
    return row


def seed_list(tools, n: int) -> None:
    """The list experiment's first runs, through each tool's API (one client)."""
    for tool in tools:
        tool.sweep(n, "list", clients=1)()


def list_workload(tools, pg: Postgres, sizes, repeat: int, rows: list) -> None:
    have = SEED
    for size in sizes:
        for tool in tools:
            conn = pg.connect(tool.db)
            started = time.perf_counter()
            if tool.label == "mlctl":
                made = api_runs_mlctl(conn)
                check_clone_mlctl(conn, made)
                grow(conn, "mlctl", MLCTL_TABLES, mlctl_overrides(), made[1][0], have, size)
            else:
                made = api_runs_mlflow(conn)
                check_clone_mlflow(conn, made)
                grow(conn, "public", MLFLOW_TABLES, mlflow_overrides(), made[1][0], have, size)
            conn.close()
            print(f"  {tool.label}: {size:,} runs in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        have = size
        for tool in tools:  # warm: the first read after a bulk load pays for hint bits
            tool.run_list()()
        alternate(f"run list, filter + sort, {size:,} runs", TARGETS["list"] if size >= 1_000_000 else "",
                  {tool.label: tool.run_list() for tool in tools}, repeat, rows)


def report(rows: list, with_mlflow: bool) -> None:
    print()
    headers = ["workload", "mlctl (median)", "mlctl rounds"]
    if with_mlflow:
        headers += ["MLflow (median)", "MLflow rounds", "ratio"]
    headers.append("target")
    table = []
    for row in rows:
        mine = row["times"]["mlctl"]
        line = [row["workload"], f"{statistics.median(mine):.3f} s", " ".join(f"{t:.3f}" for t in mine)]
        if with_mlflow:
            theirs = row["times"]["mlflow"]
            line += [f"{statistics.median(theirs):.3f} s", " ".join(f"{t:.2f}" for t in theirs),
                     f"{statistics.median(mine) / statistics.median(theirs):.3f}x"]
        line.append(row["target"])
        table.append(line)
    print_table(headers, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="100000,1000000", help="run counts for the run list workload")
    parser.add_argument("--only", choices=["points", "sweep", "list"], help="one workload")
    parser.add_argument("--mlctl-only", action="store_true", help="full sizes, mlctl's side only (no MLflow)")
    add_smoke_flag(parser)
    args = parser.parse_args()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        print("mlctl: skipped: psycopg is not installed (pip install -e '.[postgres]')")
        return
    from tests.pgfixtures import pg_bindir

    if pg_bindir() is None:
        print("mlctl: skipped: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
        return
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    if args.smoke:
        sizes, n_points, n_runs, repeat = [50, 200], 200, 16, 1
    else:
        sizes, n_points, n_runs, repeat = [int(s) for s in args.sizes.split(",")], 10_000, 1000, args.repeat
    pg = Postgres()
    tools: list = []
    rows: list = []
    try:
        tools.append(Mlctl(pg, "mlctl_bench"))
        if not (args.smoke or args.mlctl_only):
            tools.append(Mlflow(pg, "mlflow_bench"))
        for tool in tools:  # warm-up: schema, first connection, experiment rows
            tool.points(1)()
            tool.sweep(CLIENTS, "warm")()
        if args.only in (None, "points"):
            alternate(f"one run, {n_points:,} log_metric calls", TARGETS["points"],
                      {tool.label: tool.points(n_points) for tool in tools}, repeat, rows)
        if args.only in (None, "sweep"):
            alternate(f"{n_runs:,}-run sweep (10 params + 5 metrics) from {CLIENTS} processes", TARGETS["sweep"],
                      {tool.label: tool.sweep(n_runs) for tool in tools}, repeat, rows)
        if args.only in (None, "list"):
            seed_list(tools, SEED)
            list_workload(tools, pg, sizes, repeat, rows)
    finally:
        for tool in tools:
            if isinstance(tool, Mlflow):
                tool.stop()
        pg.stop()
    report(rows, with_mlflow=len(tools) > 1)


if __name__ == "__main__":
    main()
