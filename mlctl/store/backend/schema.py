"""The backend's schema: numbered migrations, applied in order, and the version check.

Every mlctl table lives in the PostgreSQL schema ``mlctl``; ``mlctl.mlctl_schema`` holds
one row per migration applied (version, when, by which mlctl), so its highest version is
the schema's. ``init`` creates or migrates step by step in one transaction under an
advisory lock: two clients running it at once apply each step once, and a failure
leaves the previous version whole. A client older than the schema refuses to work on it;
a client newer than the schema asks for ``mlctl backend init``.

The runs tables mirror the SQLite runs index (mlctl/tracking/db.py) column for column, with
JSONB for the JSON columns; the registry's tables (step 2) hold its refs as rows and ``COLLATE "C"`` on text so that ordering and prefix
ranges match SQLite's byte order whatever the database's locale.
"""

from __future__ import annotations

from mlctl import __version__
from mlctl.errors import UsageError
from mlctl.store.backend.connection import NAMESPACE

TEXT = 'TEXT COLLATE "C"'
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        f"""CREATE TABLE runs (
            id {TEXT} PRIMARY KEY, experiment {TEXT} NOT NULL, name {TEXT}, status {TEXT} NOT NULL,
            start_time DOUBLE PRECISION NOT NULL, end_time DOUBLE PRECISION, updated DOUBLE PRECISION,
            deleted INTEGER NOT NULL DEFAULT 0, parent_id {TEXT}, host {TEXT}, pid INTEGER, owner {TEXT},
            git_commit {TEXT}, git_dirty INTEGER, command {TEXT}, exit_code INTEGER,
            params JSONB NOT NULL DEFAULT '{{}}', metrics JSONB NOT NULL DEFAULT '{{}}',
            tags JSONB NOT NULL DEFAULT '{{}}', artifacts JSONB NOT NULL DEFAULT '{{}}',
            data JSONB NOT NULL DEFAULT '{{}}', env JSONB NOT NULL DEFAULT '{{}}',
            record {TEXT}, origin {TEXT})""",
        "CREATE INDEX runs_experiment ON runs (experiment, id)",
        "CREATE INDEX runs_running ON runs (status) WHERE status = 'running'",
        f"""CREATE TABLE latest (
            run_id {TEXT} NOT NULL, key {TEXT} NOT NULL, step BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL,
            value DOUBLE PRECISION, PRIMARY KEY (run_id, key))""",
        # seq keeps the order points were written in (SQLite's rowid)
        f"""CREATE TABLE points (
            seq BIGINT GENERATED ALWAYS AS IDENTITY, run_id {TEXT} NOT NULL, key {TEXT} NOT NULL,
            step BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL, value DOUBLE PRECISION)""",
        "CREATE INDEX points_run_key ON points (run_id, key, step)",
    ),
    # the model registry (mlctl/registry/pgindex.py): the refs of the local store as rows.
    # Records, history entries and deployments are canonical JSON text, not JSONB: a record
    # is checked against its hash when read, and JSON's NaN has no JSONB spelling.
    2: (
        f"CREATE TABLE models (name {TEXT} PRIMARY KEY, doc TEXT NOT NULL)",
        f"""CREATE TABLE model_versions (
            model {TEXT} NOT NULL REFERENCES models (name), version INTEGER NOT NULL, record {TEXT} NOT NULL,
            entry TEXT NOT NULL, PRIMARY KEY (model, version))""",
        f"CREATE TABLE model_records (hash {TEXT} PRIMARY KEY, body TEXT NOT NULL)",
        f"""CREATE TABLE model_aliases (
            model {TEXT} NOT NULL REFERENCES models (name), alias {TEXT} NOT NULL, version INTEGER NOT NULL,
            PRIMARY KEY (model, alias))""",
        f"""CREATE TABLE alias_history (
            model {TEXT} NOT NULL REFERENCES models (name), seq INTEGER NOT NULL, entry TEXT NOT NULL,
            PRIMARY KEY (model, seq))""",
        f"""CREATE TABLE deployments (
            model {TEXT} NOT NULL, id {TEXT} NOT NULL, record TEXT NOT NULL, PRIMARY KEY (model, id))""",
    ),
    # drift check records (mlctl/monitoring/pgrecords.py): the SQLite file's table
    3: (
        f"""CREATE TABLE checks (
            id {TEXT} PRIMARY KEY, created DOUBLE PRECISION NOT NULL, model {TEXT}, reference TEXT NOT NULL,
            current TEXT NOT NULL, dataset_drift INTEGER NOT NULL, share_drifted DOUBLE PRECISION NOT NULL,
            drift_share DOUBLE PRECISION NOT NULL, n_columns INTEGER NOT NULL, n_drifted INTEGER NOT NULL,
            drifted_columns TEXT NOT NULL, report_object {TEXT}, report_path TEXT, result TEXT NOT NULL)""",
        "CREATE INDEX checks_created ON checks (created)",
        "CREATE INDEX checks_model ON checks (model, created)",
    ),
    # `run list --filter "metrics.acc > x ..." --sort -metrics.acc` reads this index in order
    # and stops at the page's end (sql_pg.PgCompiler.sort_driver), not sorting every run
    4: ("CREATE INDEX latest_key_value ON latest (key, value)",),
}
LATEST = max(MIGRATIONS)
LOCK_KEY = 0x6D6C63746C5F7363  # "mlctl_sc": the advisory lock `init` holds while it migrates


class SchemaTooNew(UsageError):
    def __init__(self, found: int):
        super().__init__(f"the backend's schema is version {found}, this mlctl knows up to {LATEST}; upgrade mlctl",
                         hint="every client of one backend needs an mlctl at least as new as the last `backend init`")


def version(conn) -> int:
    """The schema version the backend holds; 0 before the first `backend init`."""
    row = conn.execute("SELECT to_regclass(%s)", (f"{NAMESPACE}.mlctl_schema",)).fetchone()
    if row[0] is None:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM mlctl_schema").fetchone()[0]


def init(conn) -> dict:
    """Create or migrate the schema to LATEST; returns {"from": N, "to": LATEST}."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {NAMESPACE}")
        conn.execute("""CREATE TABLE IF NOT EXISTS mlctl_schema (
            version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now(), mlctl TEXT NOT NULL)""")
        found = version(conn)
        if found > LATEST:
            raise SchemaTooNew(found)
        for step in sorted(step for step in MIGRATIONS if found < step <= LATEST):  # numbers may skip
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute("INSERT INTO mlctl_schema (version, mlctl) VALUES (%s, %s)", (step, __version__))
    return {"from": found, "to": LATEST}


def check(conn) -> int:
    """The schema version, when this mlctl can work on it; else a UsageError saying what to do."""
    found = version(conn)
    if found > LATEST:
        raise SchemaTooNew(found)
    if found == 0:
        raise UsageError("the backend has no mlctl schema yet", hint="run `mlctl backend init` once")
    if found < LATEST:
        raise UsageError(f"the backend's schema is version {found}, this mlctl needs {LATEST}",
                         hint="run `mlctl backend init` to migrate it (every client then needs this mlctl or newer)")
    return found
