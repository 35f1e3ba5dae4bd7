"""How tracking plugs into status, gc, fsck and config (light imports only)."""

from __future__ import annotations

import json

from mlctl.store.config import KeySpec


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


CONFIG_KEYS = [
    KeySpec(r"tracking\.experiment", str, "experiment of runs that name none (default: default)"),
    KeySpec(r"tracking\.flush_interval", _positive_float, "seconds between background flushes of logged metrics (default 1)"),
]


def status_section(repo) -> dict:
    from mlctl.tracking.db import exists

    count, running, last = 0, 0, None
    if exists(repo):
        from mlctl.tracking import liveness
        from mlctl.tracking.db import database

        db = database(repo)
        liveness.reap(db, repo)
        with db.mutex:
            count, running = db.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 'running'), 0) FROM runs WHERE deleted = 0").fetchone()
            row = db.conn.execute("SELECT id, experiment, name, status, start_time FROM runs "
                                  "WHERE deleted = 0 ORDER BY id DESC LIMIT 1").fetchone()
        if row:
            from mlctl.tracking.run import iso

            last = {"id": row[0], "experiment": row[1], "name": row[2], "status": row[3], "start_time": iso(row[4])}
    lines = [f"{count} run{'s' if count != 1 else ''}" + (f", {running} running" if running else "")]
    if last:
        label = f" ({last['name']})" if last["name"] else ""
        lines.append(f"last: {last['id']}{label} in {last['experiment']}, {last['status']}")
    return {"key": "runs", "title": "Runs", "lines": lines,
            "json": {"count": count, "running": running, "last": last}}


def _run_objects(repo):
    """(run id, what, hash) for every object a run refers to."""
    from mlctl.tracking.db import database, exists

    if not exists(repo):
        return
    db = database(repo)
    with db.mutex:
        rows = db.conn.execute("SELECT id, artifacts, record FROM runs").fetchall()
    for run_id, artifacts, record in rows:
        for rel, digest in json.loads(artifacts).items():
            yield run_id, f"artifact {rel}", digest
        if record:
            yield run_id, "record", record


def gc_roots(repo):
    return {digest for _run, _what, digest in _run_objects(repo)}


def fsck_refs(repo):
    from mlctl.tracking.db import exists

    problems = []
    for run_id, what, digest in _run_objects(repo):
        if not repo.objects.exists(digest):
            problems.append({"what": f"run {run_id} {what}", "object": digest, "problem": "not in the store"})
    if exists(repo):
        from mlctl.tracking.db import database

        db = database(repo)
        with db.mutex:
            verdict = db.conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            problems.append({"what": "runs index (.mlctl/db/runs.sqlite)", "object": None, "problem": verdict})
    return problems
