"""`mlctl backend import`'s runs: a clone's SQLite runs copied into the team backend.

A team that moves to a backend has runs in each clone's ``.mlctl/db/runs.sqlite``. Each
ended run goes over as `run pull` would carry it (its record: params, metrics with every
point, tags, artifact entries, environment), written in transactions of ``CHUNK`` runs:
a run the backend lacks is added, one whose copy there is older (``updated``) replaced,
one as new or newer left alone, so a second import, or one interrupted and run again,
changes nothing it has done. Running runs stay (their process still writes to SQLite);
deleted ones stay deleted. Artifact objects stay in the local store: `mlctl run push`
sends them to the remote, as for any run.
"""

from __future__ import annotations

from mlctl.store.backend.url import required_url
from mlctl.tracking.db import DB_NAME, database, sqlite_database
from mlctl.tracking.records import export_record, import_records, parse_record

CHUNK = 200  # runs a transaction: a killed import loses at most one chunk's work, and no half of a run
ORIGIN = "import"


def import_runs(repo) -> dict:
    """Copy the clone's ended runs into the backend; counts of what happened."""
    required_url(repo, "no backend is set: there is nothing to import into")
    counts = {"runs": 0, "added": 0, "replaced": 0, "unchanged": 0, "running": 0, "deleted": 0}
    if not repo.db_path(DB_NAME).exists():
        return counts
    local, backend = sqlite_database(repo), database(repo)
    with local.read() as conn:
        rows = conn.execute("SELECT id, updated, status, deleted, record FROM runs ORDER BY id").fetchall()
    counts["runs"] = len(rows)
    ended = []
    for run_id, updated, status, deleted, shared in rows:
        if deleted:
            counts["deleted"] += 1
        elif status == "running":
            counts["running"] += 1
        else:
            ended.append((run_id, updated or 0.0, shared))
    for start in range(0, len(ended), CHUNK):
        _import_chunk(repo, local, backend, ended[start:start + CHUNK], counts)
    return counts


def _import_chunk(repo, local, backend, chunk: list[tuple[str, float, str | None]], counts: dict) -> None:
    there = _backend_updated(backend, [run_id for run_id, _, _ in chunk])
    records = []
    for run_id, updated, shared in chunk:
        theirs = there.get(run_id, "absent")
        if theirs != "absent" and (theirs or 0.0) >= updated:
            counts["unchanged"] += 1
            continue
        counts["added" if theirs == "absent" else "replaced"] += 1
        data = export_record(repo, run_id, db=local)
        records.append((shared, parse_record(data, f"run {run_id}")))  # the record a remote holds, if pushed
    if records:
        import_records(repo, records, ORIGIN, db=backend)


def _backend_updated(backend, run_ids: list[str]) -> dict:
    marks = ", ".join("?" * len(run_ids))
    with backend.read() as conn:
        return dict(conn.execute(f"SELECT id, updated FROM runs WHERE id IN ({marks})", tuple(run_ids)).fetchall())
