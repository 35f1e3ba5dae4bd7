"""Changes to runs, each one transaction on the runs index (see db.py).

``create_run`` makes the calling process the owner of a run that starts ``running``
(liveness.py), so whoever creates a run and never finishes it (a crash, SIGKILL)
leaves a run that readers see as ``killed``.
"""

from __future__ import annotations

import os
import time
from typing import Iterable

from mlctl.errors import NotFoundError, UsageError
from mlctl.tracking import capture, ids, liveness, values
from mlctl.tracking.db import COLUMNS, database

DEFAULT_EXPERIMENT = "default"

# (key, step or None, value, timestamp or None)
Point = tuple
_experiment_cache: dict[tuple, str] = {}


def default_experiment(repo) -> str:
    """MLCTL_EXPERIMENT, else the config's tracking.experiment, else "default"."""
    if os.environ.get("MLCTL_EXPERIMENT"):
        return os.environ["MLCTL_EXPERIMENT"]
    key = (str(repo.dot), *(_mtime(repo.dot / name) for name in ("config.yaml", "config.local.yaml")))
    if key not in _experiment_cache:
        _experiment_cache[key] = repo.config.get("tracking.experiment") or DEFAULT_EXPERIMENT
    return _experiment_cache[key]


def _mtime(path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def check_experiment(name: str) -> str:
    if not isinstance(name, str) or not values.KEY_RE.match(name):
        raise UsageError(f"invalid experiment name: {name!r}", hint=values.KEY_HINT)
    return name


def create_run(repo, experiment: str | None = None, name: str | None = None, params: dict | None = None,
               tags: dict | None = None, run_id: str | None = None, command: str | None = None,
               data: dict | None = None, parent_id: str | None = None, status: str = "running",
               metrics: Iterable[Point] = (), env: dict | None = None, capture_context: bool = True,
               start_time: float | None = None, artifacts: dict | str | None = None):
    """Record a new run, in one transaction; with ``status="running"`` this process owns
    it until finish_run. Returns the Run."""
    from mlctl.tracking.run import Run

    if status not in values.STATUSES:
        raise UsageError(f"invalid run status: {status!r}")
    run_id = run_id or ids.new_id(start_time)
    if not ids.is_run_id(run_id):
        raise UsageError(f"invalid run id: {run_id!r}")
    start = time.time() if start_time is None else start_time
    row = _new_row(repo, run_id, check_experiment(experiment or default_experiment(repo)), name, status,
                   start, command, data, parent_id, params, tags, env, capture_context)
    row["artifacts"] = values.dumps(artifacts or {})
    db = database(repo)
    try:
        with db.write() as conn:
            conn.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                         tuple(row.values()))
            latest = _store_points(conn, run_id, metrics, start)
            if latest is not None:
                _update(conn, run_id, {"metrics": latest})
    except Exception as exc:
        if db.is_duplicate(exc):
            raise UsageError(f"run {run_id} already exists") from None
        raise
    if latest is not None:
        row["metrics"] = latest
    return Run(tuple(row.get(col) for col in COLUMNS), repo)


def _new_row(repo, run_id, experiment, name, status, start, command, data, parent_id, params, tags,
             env, capture_context) -> dict:
    if capture_context:
        capture.prefetch(repo)
    git = capture.git_state(repo.root) if capture_context else {"commit": None, "dirty": None}
    full_env = dict(capture.environment()) if capture_context else {}
    full_env.update(env or {})
    if data is None:
        data = capture.data_pointers(repo) if capture_context else {}
    if command is None and capture_context:
        command = capture.command_line()
    return {
        "id": run_id, "experiment": experiment, "name": name, "status": status,
        "start_time": start, "end_time": None if status == "running" else start, "updated": start,
        "deleted": 0, "parent_id": parent_id, "host": capture.host(), "pid": os.getpid(),
        "owner": liveness.owner_token(repo) if status == "running" else None,
        "git_commit": git["commit"], "git_dirty": None if git["dirty"] is None else int(git["dirty"]),
        "command": command, "params": values.dumps(check_params(params)),
        "tags": values.dumps(check_tags(tags)), "data": values.dumps(data),
        "env": values.dumps(full_env), "metrics": "{}",
    }


def check_params(params: dict | None) -> dict:
    """Params as a run stores them: checked keys, JSON-able values (or a UsageError)."""
    return {values.check_key(k, "param"): values.param_value(v, k) for k, v in (params or {}).items()}


def check_tags(tags: dict | None) -> dict:
    """Tags as a run stores them: checked keys, text values (or a UsageError)."""
    return {values.check_key(k, "tag"): str(v) for k, v in (tags or {}).items()}


def log_batch(repo, run_id: str, points: Iterable[Point] = (), params: dict | None = None,
              tags: dict | None = None, env: dict | None = None, finish: dict | None = None) -> None:
    """Add metric points and merge params, tags and environment into a run, atomically;
    ``finish`` ({"status", "exit_code", "end_time"}) also ends it in the same transaction.
    On PostgreSQL the batch is one statement, one round trip (pgwrites.py)."""
    params, tags = check_params(params), check_tags(tags)
    now = time.time()
    db = database(repo)
    if db.dialect == "postgresql":
        from mlctl.tracking import pgwrites

        with db.mutex:
            rows, newest = _point_rows(points, now, lambda key: _latest_step(db.conn, run_id, key))
            if not pgwrites.log_batch(db, run_id, rows, newest, params, tags, env, finish, now):
                raise NotFoundError(f"unknown run: {run_id}")
        return
    with db.write() as conn:
        row = conn.execute(f"SELECT params, tags, env FROM runs WHERE id = ?{db.for_update}", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown run: {run_id}")
        updates: dict = {"updated": now}
        latest = _store_points(conn, run_id, points, now)
        if latest is not None:
            updates["metrics"] = latest
        for column, changes, old in (("params", params, row[0]), ("tags", tags, row[1]), ("env", env, row[2])):
            if changes:
                updates[column] = values.dumps({**values.loads(old), **changes})
        if finish:
            end = finish.get("end_time") or now
            updates.update(status=finish["status"], exit_code=finish.get("exit_code"), end_time=end, updated=end)
        _update(conn, run_id, updates)


def _latest_step(conn, run_id: str, key: str) -> int | None:
    row = conn.execute("SELECT step FROM latest WHERE run_id = ? AND key = ?", (run_id, key)).fetchone()
    return row[0] if row else None


def _point_rows(points: Iterable[Point], now: float, latest_step) -> tuple[list, dict]:
    """Points as rows (key, step, ts, value), and each key's newest row: an unnumbered
    point continues after its key's latest step (``latest_step(key)``, None: no point yet);
    NaN becomes NULL, as SQLite stores it."""
    next_step: dict[str, int] = {}
    rows, newest = [], {}
    for key, step, value, ts in points:
        if step is None:
            if key not in next_step:
                prev = latest_step(key)
                next_step[key] = 0 if prev is None else prev + 1
            step = next_step[key]
        next_step[key] = max(next_step.get(key, 0), step + 1)
        row = (key, step, now if ts is None else ts, None if value != value else value)
        rows.append(row)
        best = newest.get(key)
        if best is None or (row[1], row[2]) >= (best[1], best[2]):
            newest[key] = row
    return rows, newest


def _store_points(conn, run_id: str, points: Iterable[Point], now: float) -> str | None:
    """Insert points and move each key's latest value; returns the new metrics JSON."""
    rows, newest = _point_rows(points, now, lambda key: _latest_step(conn, run_id, key))
    if not rows:
        return None
    conn.executemany("INSERT INTO points (run_id, key, step, ts, value) VALUES (?, ?, ?, ?, ?)",
                     [(run_id, *row) for row in rows])
    conn.executemany(
        "INSERT INTO latest (run_id, key, step, ts, value) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, ts = excluded.ts, value = excluded.value "
        "WHERE excluded.step > latest.step OR (excluded.step = latest.step AND excluded.ts >= latest.ts)",
        [(run_id, *row) for row in newest.values()])
    latest = dict(conn.execute("SELECT key, value FROM latest WHERE run_id = ?", (run_id,)))
    return values.dumps(latest)


def _update(conn, run_id: str, updates: dict) -> None:
    assignments = ", ".join(f"{col} = ?" for col in updates)
    conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*updates.values(), run_id))


def finish_run(repo, run_id: str, status: str = "finished", exit_code: int | None = None,
               end_time: float | None = None, env: dict | None = None, points: Iterable[Point] = (),
               params: dict | None = None, tags: dict | None = None) -> None:
    """Set a run's final status and end time (with any last points, params, tags)."""
    if status not in values.STATUSES or status == "running":
        raise UsageError(f"invalid final status: {status!r}")
    log_batch(repo, run_id, points, params, tags, env,
              finish={"status": status, "exit_code": exit_code, "end_time": end_time})


def resume_run(repo, run_id: str) -> bool:
    """Make this process the owner of an existing run, running again; False when its
    owner is alive in another process (the caller then joins it instead)."""
    me = liveness.owner_token(repo)
    db = database(repo)
    with db.write() as conn:
        row = conn.execute(f"SELECT status, owner FROM runs WHERE id = ?{db.for_update}", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown run: {run_id}")
        if row[0] == "running" and row[1] != me and liveness.is_alive(repo, row[1]):
            return False
        _update(conn, run_id, {"status": "running", "end_time": None, "exit_code": None, "owner": me,
                               "updated": time.time(), "pid": os.getpid(), "host": capture.host()})
    return True


def next_steps(repo, run_id: str) -> dict[str, int]:
    """The next free step of every metric a run has (for a process joining it)."""
    db = database(repo)
    with db.mutex:
        rows = db.conn.execute("SELECT key, step FROM latest WHERE run_id = ?", (run_id,)).fetchall()
    return {key: step + 1 for key, step in rows}


def merge_json_column(repo, run_id: str, column: str, changes: dict, remove: Iterable[str] = ()) -> dict:
    """Merge ``changes`` into (and drop ``remove`` keys from) one JSON column of a run."""
    def merged(current: dict) -> dict:
        out = {**current, **changes}
        for key in remove:
            out.pop(key, None)
        return out

    return update_json_column(repo, run_id, column, merged)


def update_json_column(repo, run_id: str, column: str, change):
    """Replace one JSON column of a run by ``change(its value)``, in one transaction (so
    two processes adding to it do not lose each other's changes); returns the new value."""
    if column not in ("params", "tags", "artifacts", "data", "env"):
        raise ValueError(column)
    db = database(repo)
    with db.write() as conn:
        row = conn.execute(f"SELECT {column} FROM runs WHERE id = ?{db.for_update}", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown run: {run_id}")
        value = change(values.loads(row[0]))
        _update(conn, run_id, {column: values.dumps(value), "updated": time.time()})
    return value
