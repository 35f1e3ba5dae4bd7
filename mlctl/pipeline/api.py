"""The pipeline component's core API for other components (light to import).

    from mlctl.pipeline import api
    api.run(repo, ["train"])          -> RunReport (.ok, .run_id, .results[i].outcome/.outs, .to_json())
    api.status(repo)                  -> StatusReport (.stale, .items[i].stage/.action/.reasons, .to_json())
    api.dag(repo)                     -> the `pipeline show --json` document
    api.last_ran(repo)                -> stage -> where its command last ran (executor, node, ...)
    api.producer(repo, "model.pkl")   -> the stage that writes a path, with what it last ran with, or None
    api.exists(repo)                  -> bool: the repository has a pipeline.yaml

Errors are MlctlError subclasses (exit 2 for a bad pipeline.yaml, 3 when another
`pipeline run` holds the lock past the timeout); a failed stage is a result, not an error.
"""

from __future__ import annotations

from mlctl import lazyapi
from mlctl.store.repo import Repo



def exists(repo: Repo) -> bool:
    from mlctl.pipeline.loader import exists as has_pipeline

    return has_pipeline(repo)


def dag(repo: Repo) -> dict:
    from mlctl.pipeline import show

    from mlctl.pipeline import where

    return show.to_json(show.show(repo), where.read(repo))


def producer(repo: Repo, path: str) -> dict | None:
    """Which stage writes ``path`` (an output, or a file inside an output folder) and its
    pipeline.lock record: {"stage", "output", "cmd", "fingerprint", "deps", "params", "outs"}.
    None when no stage writes it; the record fields are None before the stage first ran."""
    from mlctl.pipeline import dag as dag_mod
    from mlctl.pipeline import loader, lockfile
    from mlctl.pipeline.spec import normalize_path
    from mlctl.store.paths import overlaps

    pipeline = loader.load(repo, check_deps=False).pipeline
    rel = normalize_path(repo.relpath(path) if path.startswith("/") else path, "path")
    names = dag_mod.producers(pipeline, rel)
    if not names:
        return None
    stage = pipeline.stages[names[0]]
    output = next(out for out in stage.products if overlaps(rel, out))
    record = lockfile.read(repo).get(stage.name)
    doc = {"stage": stage.name, "output": output, "cmd": stage.cmd, "fingerprint": None, "deps": None,
           "params": None, "outs": None}
    if record is not None:
        doc.update(fingerprint=record.fingerprint, deps=dict(record.deps), params=dict(record.params),
                   outs={p: v.to_json() for p, v in record.products.items()})
    return doc


# The rest of the door, imported on first use (mlctl/lazyapi.py says why).
EXPORTS = {
    "run": "run",
    "Observer": "run",
    "status": "status",
    "dry_run": "plan",
    "show": "show",
    "show_json": "show:to_json",
    "show_tree": "show:tree_lines",
    "show_mermaid": "show:mermaid",
    "stage_log": "logs",
    "last_ran": "where:read",
    "push": "sync",
    "pull": "sync",
    "load_pipeline": "loader:load",
    "select_stages": "dag:select",
    "PIPELINE_FILE": "spec",
    "hash_path": "artifacts",
    "PathHasher": "artifacts",
    "RunReport": "report",
    "FAILED": "report",
    "INTERRUPTED": "report",
    "RAN": "report",
    "RESTORED": "report",
    "SKIPPED": "report",
    "UP_TO_DATE": "report",
}
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
__all__ = sorted(["dag", "producer", "exists"] + list(EXPORTS))
