"""A run logged on another machine and carried back: a pipeline stage run on a Ray worker.

A worker cannot reach the driver's runs database, yet a stage's script expects
``MLCTL_RUN_ID`` and ``mlctl.start_run()`` joining it, as on the local executor. So the
driver sends the run's seed (``relay_seed``: its id, experiment, name and each metric's
latest step, so a script's unnumbered points continue where the run is); the task writes
it to a file named by ``MLCTL_RUN_SEED`` and points the command at its scratch repository.
Only a script that joins the run creates it there, from the seed (``join_seeded``, called
by the API's join): a command that logs nothing costs no database (~25 ms a task). The
scratch index is SQLite even where the cluster's environment names a team backend
(``MLCTL_BACKEND_URL``): the command runs without that variable, and the task reads the
scratch index as such; the driver's own run may be on the backend.
Afterwards the task takes out what the command logged (``relay_delta``): params, tags, the
environment of the interpreter that joined, metric points with their steps and times, and
artifact entries (whose objects travel to the remote with the outputs). The driver adds
that to its own run (``apply_relay``) in one transaction, as if the script had logged
there. Data versions a script names are not carried: the pipeline records its stages' deps.

The delta crosses a cluster, so the driver checks it as it checks any input: keys and
values as the API checks them, artifact names as a tree's.
"""

from __future__ import annotations

from mlctl.errors import StoreDamageError, UsageError
from mlctl.store import tree
from mlctl.tracking import values
from mlctl.tracking.db import DB_NAME, database, sqlite_database
from mlctl.tracking.writes import check_params, check_tags, create_run, log_batch, update_json_column

NAN = float("nan")  # SQLite keeps a NaN metric as NULL
SEED_TIME = 0.0  # the seeded points' time: they only say where each metric's steps are
SEED_ENV = "MLCTL_RUN_SEED"  # the seed file's path, set for a command on a Ray worker


def relay_seed(repo, run_id: str) -> dict:
    """What a worker needs to open the run: id, experiment, name, {metric: latest step}."""
    db = database(repo)
    with db.read() as conn:
        experiment, name = conn.execute("SELECT experiment, name FROM runs WHERE id = ?", (run_id,)).fetchone()
        steps = dict(conn.execute("SELECT key, step FROM latest WHERE run_id = ?", (run_id,)))
    return {"id": run_id, "experiment": experiment, "name": name, "steps": steps}


def open_relay(repo, seed: dict) -> None:
    """Create the seeded run in a scratch repository's new runs database: its first
    ``len(seed["steps"])`` points are the seed's, the rest the command's."""
    seeded = [(key, step, 0.0, SEED_TIME) for key, step in seed["steps"].items()]
    create_run(repo, experiment=seed["experiment"], name=seed["name"], run_id=seed["id"], metrics=seeded,
               capture_context=False, data={})


def join_seeded(repo, run_id: str) -> bool:
    """Open the run ``MLCTL_RUN_SEED``'s file seeds, when it is ``run_id`` and this
    repository has no runs yet (a Ray task's scratch one); whether it did. The seeded
    points are then the first rows of its points table."""
    import json
    import os

    path = os.environ.get(SEED_ENV)
    if not path or _has_runs(repo):
        return False
    try:
        with open(path, encoding="utf-8") as f:
            seed = json.load(f)
    except (OSError, ValueError):
        return False
    if not isinstance(seed, dict) or seed.get("id") != run_id:
        return False
    open_relay(repo, seed)
    return True


def _has_runs(repo) -> bool:
    if not repo.db_path(DB_NAME).exists():
        return False
    with sqlite_database(repo).read() as conn:
        return conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None


def relay_delta(repo, seed: dict) -> dict | None:
    """What the command logged into the run (None: it never joined it): params, tags,
    env, points [key, step, ts, value] and artifacts [path, hash, size, mode]."""
    from mlctl.tracking.artifact_trees import artifact_entries

    if not repo.db_path(DB_NAME).exists():
        return None
    run_id, after = seed["id"], len(seed["steps"])
    with sqlite_database(repo).read() as conn:  # the scratch index, even where the task's environment names a backend
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            return None
        params, tags, env, artifacts = conn.execute("SELECT params, tags, env, artifacts FROM runs WHERE id = ?",
                                                    (run_id,)).fetchone()
        points = conn.execute("SELECT key, step, ts, value FROM points WHERE run_id = ? AND rowid > ? ORDER BY rowid",
                              (run_id, after)).fetchall()
    entries = artifact_entries(repo, values.loads(artifacts))
    return {"params": values.loads(params), "tags": values.loads(tags), "env": values.loads(env),
            "points": [[k, step, ts, NAN if v is None else v] for k, step, ts, v in points], "artifacts": [list(e) for e in entries]}


def relay_objects(delta: dict) -> list[str]:
    """The artifact objects a delta names (pushed by the worker, pulled by the driver)."""
    return [entry.hash for entry in _entries(delta)]


def apply_relay(repo, run_id: str, delta: dict) -> None:
    """Add a worker's delta to the run (its artifact objects must be in the store). All of
    it is checked before anything is written; a malformed delta is store damage (exit 3)."""
    try:
        points = [_point(p) for p in _list(delta.get("points"), "points")]
        params = check_params(_dict(delta.get("params"), "params"))
        tags = check_tags(_dict(delta.get("tags"), "tags"))
        env = {str(k): str(v) for k, v in _dict(delta.get("env"), "env").items()}
        entries = _entries(delta)
    except UsageError as exc:
        raise StoreDamageError(f"a worker's run delta: {exc.message}") from None
    log_batch(repo, run_id, points, params, tags, env)
    if entries:
        from mlctl.tracking.artifacts import merge_entries

        update_json_column(repo, run_id, "artifacts", lambda current: merge_entries(repo, current, entries))


def _entries(delta: dict) -> list[tree.Entry]:
    rows = _list(delta.get("artifacts"), "artifacts")
    return tree.from_rows([list(row) if isinstance(row, tuple) else row for row in rows], "a worker's run artifacts")


def _point(row) -> tuple:
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        raise StoreDamageError("a worker's run delta has a malformed metric point")
    key, step, ts, value = row
    key = values.check_key(key, "metric")
    return key, values.metric_step(step, key), values.metric_value(value, key), float(ts)


def _list(value, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise StoreDamageError(f"a worker's run delta has malformed {what}")
    return value


def _dict(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StoreDamageError(f"a worker's run delta has malformed {what}")
    return value
