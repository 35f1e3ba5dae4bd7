"""Editing runs after the fact: tags, data, soft delete and restore, purge."""

from __future__ import annotations

from mlctl.errors import UsageError
from mlctl.tracking import capture, values
from mlctl.tracking.db import database
from mlctl.tracking.runs import get_run
from mlctl.tracking.writes import merge_json_column


def tag_run(repo, ref: str, tags: dict, remove: list[str] = ()) -> dict:
    """Set and remove tags of a run; returns its tags afterwards."""
    run = get_run(repo, ref)
    checked = {values.check_key(k, "tag"): str(v) for k, v in tags.items()}
    missing = [key for key in remove if key not in run.tags and key not in checked]
    if missing:
        raise UsageError(f"run {run.id} has no tag {', '.join(missing)}")
    return merge_json_column(repo, run.id, "tags", checked, remove)


def add_data(repo, ref: str, paths) -> dict:
    """Record the versions of tracked data paths a run used."""
    run = get_run(repo, ref, reap=False)
    named = capture.named_data(repo, paths)
    merge_json_column(repo, run.id, "data", named)
    return named


def delete_runs(repo, refs: list[str], restore: bool = False) -> list[str]:
    """Soft-delete (or restore) runs: they leave listings but keep everything."""
    chosen = [get_run(repo, ref).id for ref in refs]
    with database(repo).write() as conn:
        conn.executemany("UPDATE runs SET deleted = ? WHERE id = ?", [(0 if restore else 1, i) for i in chosen])
    return chosen


def purge_runs(repo, refs: list[str]) -> list[str]:
    """Remove soft-deleted runs for good (their artifacts become garbage for `mlctl gc`)."""
    runs = [get_run(repo, ref) for ref in refs]
    alive = [run.id for run in runs if not run.deleted]
    if alive:
        raise UsageError(f"run {alive[0]} is not deleted", hint="`mlctl run delete` it first; purge removes deleted runs")
    ids = [(run.id,) for run in runs]
    with database(repo).write() as conn:
        conn.executemany("DELETE FROM points WHERE run_id = ?", ids)
        conn.executemany("DELETE FROM latest WHERE run_id = ?", ids)
        conn.executemany("DELETE FROM runs WHERE id = ?", ids)
    return [run.id for run in runs]
