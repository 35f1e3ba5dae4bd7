"""Where each stage's command last ran: executor, node, attempts, outcome, run and time.

Kept in the ref ``refs/pipeline/where`` (one JSON record for the whole pipeline), not in
pipeline.lock: the lock is committed, compared byte for byte and read into fingerprints'
neighbours, and must be the same whichever machine or executor ran a stage. This ref is
machine-local history, like the logs: never pushed, never hashed, and a damaged one reads
as empty (it is rebuilt by the next run). Written once per `pipeline run`, by the main
thread, after pipeline.lock; only stages whose command ran (ran or failed) are updated, so
a stage restored from the run-cache keeps the record of where it last really ran.
"""

from __future__ import annotations

import time

from mlctl.errors import MlctlError
from mlctl.store.records import canonical, load_record, tag
from mlctl.store.repo import Repo

REF = "pipeline/where"
KIND = "mlctl.pipeline.where"
VERSION = 1
FIELDS = ("executor", "node", "attempts", "outcome", "run_id", "finished")


def read(repo: Repo) -> dict[str, dict]:
    """stage -> {executor, node, attempts, outcome, run_id, finished}; {} when none (or damaged)."""
    return {name: {k: entry.get(k) for k in FIELDS} for name, entry in _stages(repo.refs.read(REF)).items()}


def record(repo: Repo, results, run_id: str | None) -> None:
    """Merge the stages of one run whose command ran (``results``: StageResults)."""
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ran = {r.stage: {"executor": r.executor, "node": r.node or None, "attempts": r.attempts, "outcome": r.outcome,
                     "run_id": run_id, "finished": finished} for r in results if r.executor}
    if ran:
        repo.refs.update(REF, lambda old: canonical(tag(KIND, VERSION, {"stages": {**_stages(old), **ran}})).decode() + "\n")


def _stages(text: str | None) -> dict[str, dict]:
    """The record's stages; a missing or damaged record is history lost, not an error."""
    if text is None:
        return {}
    try:
        stages = load_record(text, KIND, f"ref {REF}")["stages"]
        return {str(name): entry for name, entry in stages.items() if isinstance(entry, dict)}
    except (MlctlError, KeyError, TypeError, AttributeError):
        return {}


def for_stages(repo: Repo, names) -> dict[str, dict | None]:
    """Each named stage's last-ran record, None for a stage that never ran here."""
    known = read(repo)
    return {name: known.get(name) for name in names}
