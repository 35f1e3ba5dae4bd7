"""Changes to runs, each one transaction on the runs index (see db.py).

``create_run`` takes the run's liveness lock (liveness.py) for the calling process when
the run starts ``running``, so whoever creates a run and never finishes it (a crash,
SIGKILL) leaves a run that readers see as ``killed``.
"""

from __future__ import annotations

import os
import time
from typing import Iterable

from mlctl.errors import NotFoundError, UsageError
from mlctl.tracking import capture, ids, liveness, values
from mlctl.tracking.db import database

DEFAULT_EXPERIMENT = "default"

# (key, step or None, value, timestamp)
Point = tuple


def default_experiment(repo) -> str:
    return os.environ.get("MLCTL_EXPERIMENT") or repo.config.get("tracking.experiment") or DEFAULT_EXPERIMENT


def create_run(repo, experiment: str | None = None, name: str | None = None, params: dict | None = None,
               tags: dict | None = None, run_id: str | None = None, command: str | None = None,
               data: dict | None = None, parent_id: str | None = None, status: str = "running",
               metrics: Iterable[Point] = (), env: dict | None = None, capture_context: bool = True,
               start_time: float | None = None):
    """Record a new run; with ``status="running"`` this process owns it until finish_run."""
    from mlctl.tracking.runs import get_run

    experiment = check_experiment(experiment or default_experiment(repo))
    if status not in values.STATUSES:
        raise UsageError(f"invalid run status: {status!r}")
    run_id = run_id or ids.new_id(start_time)
    if not ids.is_run_id(run_id):
        raise UsageError(f"invalid run id: {run_id!r}")
    start = time.time() if start_time is None else start_time
    row = _new_row(repo, run_id, experiment, name, status, start, command, data, parent_id,
                   params, tags, env, capture_context)
    if status == "running" and not liveness.hold(repo, run_id):
        raise UsageError(f"run {run_id} is already active in another process")
    db = database(repo)
    try:
        with db.write() as conn:
            columns = ", ".join(row)
            conn.execute(f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
            _store_points(conn, run_id, metrics, start)
    except BaseException as exc:
        liveness.release(repo, run_id)
        if "UNIQUE constraint failed" in str(exc):
            raise UsageError(f"run {run_id} already exists") from None
        raise
    return get_run(repo, run_id, reap=False)


def _new_row(repo, run_id, experiment, name, status, start, command, data, parent_id, params, tags,
             env, capture_context) -> dict:
    git = capture.git_state(repo.root) if capture_context else {"commit": None, "dirty": None}
    full_env = dict(capture.environment()) if capture_context else {}
    full_env.update(env or {})
    if data is None:
        data = capture.data_pointers(repo) if capture_context else {}
    return {
        "id": run_id, "experiment": experiment, "name": name, "status": status,
        "start_time": start, "end_time": None if status == "running" else start, "updated": start,
        "parent_id": parent_id, "host": capture.host(), "pid": os.getpid(),
        "git_commit": git["commit"], "git_dirty": None if git["dirty"] is None else int(git["dirty"]),
        "command": command if command is not None else (capture.command_line() if capture_context else None),
        "params": values.dumps(_check_params(params)), "tags": values.dumps(_check_tags(tags)),
        "data": values.dumps(data), "env": values.dumps(full_env),
        "metrics": "{}", "artifacts": "{}",
    }


def check_experiment(name: str) -> str:
    if not isinstance(name, str) or not values.KEY_RE.match(name):
        raise UsageError(f"invalid experiment name: {name!r}", hint=values.KEY_HINT)
    return name


def _check_params(params: dict | None) -> dict:
    return {values.check_key(k, "param"): values.param_value(v, k) for k, v in (params or {}).items()}


def _check_tags(tags: dict | None) -> dict:
    return {values.check_key(k, "tag"): str(v) for k, v in (tags or {}).items()}


def log_batch(repo, run_id: str, points: Iterable[Point] = (), params: dict | None = None,
              tags: dict | None = None, env: dict | None = None) -> None:
    """Add metric points and merge params, tags and environment into a run, atomically."""
    params, tags = _check_params(params), _check_tags(tags)
    with database(repo).write() as conn:
        row = conn.execute("SELECT params, tags, env FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown run: {run_id}")
        _store_points(conn, run_id, points, time.time())
        updates = {"updated": time.time()}
        if params:
            updates["params"] = values.dumps({**values.loads(row[0]), **params})
        if tags:
            updates["tags"] = values.dumps({**values.loads(row[1]), **tags})
        if env:
            updates["env"] = values.dumps({**values.loads(row[2]), **env})
        _update(conn, run_id, updates)


def _store_points(conn, run_id: str, points: Iterable[Point], now: float) -> None:
    points = list(points)
    if not points:
        return
    next_step: dict[str, int] = {}
    rows, newest = [], {}
    for key, step, value, ts in points:
        if step is None:  # unnumbered points continue after the key's latest step
            if key not in next_step:
                prev = conn.execute("SELECT step FROM latest WHERE run_id = ? AND key = ?", (run_id, key)).fetchone()
                next_step[key] = prev[0] + 1 if prev else 0
            step = next_step[key]
        next_step[key] = max(next_step.get(key, 0), step + 1)
        ts = now if ts is None else ts
        rows.append((run_id, key, step, ts, value))
        best = newest.get(key)
        if best is None or (step, ts) >= (best[2], best[3]):
            newest[key] = rows[-1]
    conn.executemany("INSERT INTO points (run_id, key, step, ts, value) VALUES (?, ?, ?, ?, ?)", rows)
    conn.executemany(
        "INSERT INTO latest (run_id, key, step, ts, value) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, ts = excluded.ts, value = excluded.value "
        "WHERE excluded.step > latest.step OR (excluded.step = latest.step AND excluded.ts >= latest.ts)",
        list(newest.values()))
    latest = {k: v for k, v in conn.execute("SELECT key, value FROM latest WHERE run_id = ?", (run_id,))}
    conn.execute("UPDATE runs SET metrics = ? WHERE id = ?", (values.dumps(latest), run_id))


def _update(conn, run_id: str, updates: dict) -> None:
    assignments = ", ".join(f"{col} = ?" for col in updates)
    conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*updates.values(), run_id))


def finish_run(repo, run_id: str, status: str = "finished", exit_code: int | None = None,
               end_time: float | None = None, env: dict | None = None) -> None:
    """Set a run's final status and end time, then drop this process's hold on it."""
    if status not in values.STATUSES or status == "running":
        raise UsageError(f"invalid final status: {status!r}")
    end = time.time() if end_time is None else end_time
    try:
        with database(repo).write() as conn:
            row = conn.execute("SELECT env FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"unknown run: {run_id}")
            updates = {"status": status, "end_time": end, "updated": end, "exit_code": exit_code}
            if env:
                updates["env"] = values.dumps({**values.loads(row[0]), **env})
            _update(conn, run_id, updates)
    finally:
        liveness.release(repo, run_id)


def resume_run(repo, run_id: str) -> bool:
    """Mark an existing run running again, owned by this process; False if another
    process is running it (then the caller joins instead)."""
    if not liveness.hold(repo, run_id):
        return False
    try:
        with database(repo).write() as conn:
            _update(conn, run_id, {"status": "running", "end_time": None, "exit_code": None,
                                   "updated": time.time(), "pid": os.getpid(), "host": capture.host()})
    except BaseException:
        liveness.release(repo, run_id)
        raise
    return True


def next_steps(repo, run_id: str) -> dict[str, int]:
    """The next free step of every metric a run has (for a process joining it)."""
    db = database(repo)
    with db.mutex:
        rows = db.conn.execute("SELECT key, step FROM latest WHERE run_id = ?", (run_id,)).fetchall()
    return {key: step + 1 for key, step in rows}


def merge_json_column(repo, run_id: str, column: str, changes: dict, remove: Iterable[str] = ()) -> dict:
    """Merge ``changes`` into (and drop ``remove`` keys from) one JSON column of a run."""
    assert column in ("params", "tags", "artifacts", "data", "env")
    with database(repo).write() as conn:
        row = conn.execute(f"SELECT {column} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown run: {run_id}")
        merged = {**values.loads(row[0]), **changes}
        for key in remove:
            merged.pop(key, None)
        _update(conn, run_id, {column: values.dumps(merged), "updated": time.time()})
    return merged
