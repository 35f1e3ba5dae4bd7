"""A batch of metric points, params, tags and environment (and the run's end) written to
the PostgreSQL backend as one statement: one round trip, atomic on its own (the
connection is in autocommit mode, so no BEGIN and COMMIT trips either).

writes.log_batch's transaction (lock the run's row, insert the points, move each key's
latest point, read the latest values back, merge params, tags and environment in Python,
update the run) took seven round trips; here the same steps are common table
expressions of one UPDATE:

- the points and the latest-point upsert are INSERTs fed by ``unnest`` of arrays, one
  array per column, so the statement's text does not grow with the batch;
- params, tags and environment merge with JSONB's ``||`` (top-level keys, as
  ``{**old, **new}``), so nothing is read back into Python;
- the run's ``metrics`` takes a key's new value only where the upsert moved that key's
  latest point (``RETURNING key``): a concurrent writer's newer point stays. Writers lock
  ``latest`` rows (in key order) before the run's row, so they queue, not deadlock;
- a run that does not exist gets nothing written (the inserts join the ``run`` CTE) and
  the UPDATE returns no row, which the caller reports.
"""

from __future__ import annotations

from mlctl.tracking import values

_POINTS = "unnest(?::text[], ?::bigint[], ?::float8[], ?::float8[]) AS p(key, step, ts, value)"
BATCH_SQL = f"""
WITH run AS (SELECT id FROM runs WHERE id = ?),
stored AS (
    INSERT INTO points (run_id, key, step, ts, value)
    SELECT run.id, p.key, p.step, p.ts, p.value FROM run, {_POINTS}),
moved AS (
    INSERT INTO latest (run_id, key, step, ts, value)
    SELECT run.id, p.key, p.step, p.ts, p.value FROM run, {_POINTS} ORDER BY p.key
    ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, ts = excluded.ts, value = excluded.value
    WHERE excluded.step > latest.step OR (excluded.step = latest.step AND excluded.ts >= latest.ts)
    RETURNING key)
UPDATE runs SET
    metrics = metrics || COALESCE((SELECT jsonb_object_agg(m.key, m.value) FROM jsonb_each(?::jsonb) m
                                   WHERE m.key IN (SELECT key FROM moved)), '{{}}'::jsonb),
    params = params || ?::jsonb, tags = tags || ?::jsonb, env = env || ?::jsonb, updated = ?{{finish}}
WHERE id = ? RETURNING id"""
_FINISH = ", status = ?, exit_code = ?, end_time = ?"


def columns(rows) -> list[list]:
    """Point rows (key, step, ts, value) as four arrays, one per column."""
    return [list(column) for column in zip(*rows)] if rows else [[], [], [], []]


def log_batch(db, run_id: str, rows: list, newest: dict, params: dict, tags: dict, env: dict | None,
              finish: dict | None, now: float) -> bool:
    """Write one batch (rows: (key, step, ts, value) with steps known; newest: the batch's
    newest row per key); False when the run does not exist."""
    args = [run_id, *columns(rows), *columns(list(newest.values())),
            values.dumps({key: row[3] for key, row in newest.items()}),
            values.dumps(params), values.dumps(tags), values.dumps(env or {})]
    if finish:
        end = finish.get("end_time") or now
        args += [end, finish["status"], finish.get("exit_code"), end]
    else:
        args.append(now)
    args.append(run_id)
    with db.mutex:
        found = db.conn.execute(BATCH_SQL.replace("{finish}", _FINISH if finish else ""), args).fetchone()
    return found is not None
