"""How tracking plugs into status, gc, fsck and config (light imports only)."""

from __future__ import annotations

import json

from mlctl.errors import MlctlError
from mlctl.store.config import KeySpec, parse_positive_float
from mlctl.store.times import epoch_to_iso


CONFIG_KEYS = [
    KeySpec(r"tracking\.experiment", str, "experiment of runs that name none (default: default)"),
    KeySpec(r"tracking\.flush_interval", parse_positive_float, "seconds between background flushes of logged metrics (default 1)"),
]


def status_section(repo) -> dict:
    from mlctl.tracking.db import exists

    count, running, last = 0, 0, None
    if exists(repo):
        try:
            db = _status_database(repo)
        except MlctlError as exc:  # a damaged index, an unreachable backend: the other sections still show
            return {"key": "runs", "title": "Runs", "lines": ["; ".join(filter(None, (exc.message, exc.hint)))],
                    "json": {"count": None, "running": None, "last": None, "error": exc.message}}
        with db.mutex:
            count, running = db.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0) FROM runs WHERE deleted = 0").fetchone()
            row = db.conn.execute("SELECT id, experiment, name, status, start_time FROM runs "
                                  "WHERE deleted = 0 ORDER BY id DESC LIMIT 1").fetchone()
        if row:
            last = {"id": row[0], "experiment": row[1], "name": row[2], "status": row[3], "start_time": epoch_to_iso(row[4])}
    lines = [f"{count} run{'s' if count != 1 else ''}" + (f", {running} running" if running else "")]
    if last:
        label = f" ({last['name']})" if last["name"] else ""
        lines.append(f"last: {last['id']}{label} in {last['experiment']}, {last['status']}")
    return {"key": "runs", "title": "Runs", "lines": lines,
            "json": {"count": count, "running": running, "last": last}}


def _status_database(repo):
    """The runs index, with runs whose process died marked crashed; where the disk
    takes no write (full, read-only), read as it is (status is a read-only command)."""
    import sqlite3

    from mlctl.store.sqlite import is_unwritable
    from mlctl.tracking import liveness
    from mlctl.tracking.db import database, read_only_database

    try:
        db = database(repo)
        liveness.reap(db, repo)
        return db
    except sqlite3.OperationalError as exc:
        if not is_unwritable(exc):
            raise
    return read_only_database(repo)


def _run_objects(repo):
    """(run id, what, hash) for every object a run refers to."""
    from mlctl.tracking.db import database, exists

    if not exists(repo):
        return
    db = database(repo)
    with db.mutex:
        rows = db.conn.execute("SELECT id, artifacts, record FROM runs").fetchall()
    for run_id, artifacts, record in rows:
        yield from _artifact_objects(repo, run_id, json.loads(artifacts))
        if record:
            yield run_id, "record", record


def _artifact_objects(repo, run_id: str, value):
    """(run id, what, hash) of a run's artifacts: its tree and the files the tree lists
    (a tree not here, or damaged, only itself), or the files of an old flat map."""
    from mlctl.store import tree

    if not isinstance(value, dict):
        yield run_id, "artifacts tree", value
        try:
            value = {e.path: e.hash for e in tree.load(repo.objects, value, verify=False)}
        except MlctlError:  # missing or damaged: reported above, its files unknown
            value = {}
    for rel, digest in value.items():
        yield run_id, f"artifact {rel}", digest


def gc_roots(repo):
    return {digest for _run, _what, digest in _run_objects(repo)}


def fsck_refs(repo):
    from mlctl.tracking.rebuild import problem

    damage = problem(repo)
    if damage is not None:  # its references cannot be listed reliably; say so instead
        return [{"what": "runs index (.mlctl/db/runs.sqlite)", "object": None,
                 "problem": f"damaged: {damage}; `mlctl fsck --repair` rebuilds it"}]
    from mlctl.store.elsewhere import absent_problems

    absent = [(f"run {run_id} {what}", digest, "`mlctl run pull` fetches it")
              for run_id, what, digest in _run_objects(repo) if not repo.objects.exists(digest)]
    return list(absent_problems(repo, absent))  # a teammate's, on the remote: not here yet


def fsck_repair(repo) -> list[dict]:
    """Rebuild the runs index when it is damaged (see tracking/rebuild.py)."""
    from mlctl.tracking.rebuild import problem, rebuild

    if problem(repo) is None:
        return []
    return [rebuild(repo)]
