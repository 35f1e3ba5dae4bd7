"""The body of a stage's Ray task, run on a cluster worker (the same installed mlctl).

Nothing is shared with the driver but the remote store: the task makes a scratch folder
of its own (outside any repository), with a workspace and a private object store in it;
pulls its deps by hash from the remote and writes them into the workspace; runs the
command there; hashes its outs and metrics exactly as `data add` does, pushes their
objects to the remote; and returns the hashes. The scratch folder is removed afterwards.
Ray is not imported here except to say which node ran the task; nor is the CLI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

from mlctl.pipeline import node_cache
from mlctl.pipeline.process import StageProcess
from mlctl.pipeline.ray_logs import LineSender

LOG_LIMIT = 4 << 20  # bytes of the stage's log sent back to the driver (its end)


def run_stage(job: dict) -> dict:
    """``job``: name, cmd, deps {rel: pointer json}, products [rel], remote {name, items},
    env, workdir (or None: the worker's temp folder), cache (the node cache's limit in bytes,
    0: none; node_cache.py), sink (the live-log actor, or None),
    run (the seed of the tracking run the command logs into, tracking/relay.py, or None).
    Returns exit_code, log, tail, node, outs {rel: pointer json} (products the command
    wrote), run (what the command logged into the run, or None), and phases: started and
    ended (the worker's clock, seconds since the epoch) and the seconds of materialize,
    command and store (so the driver can say where a task's time went)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"mlctl-{job['name'][:40]}-", dir=job.get("workdir") or None))
    cache = node_cache.folder(job.get("workdir")) if job.get("cache") else None
    try:
        if cache is None:
            return _run_in(scratch, job, None)
        with node_cache.using(cache) as objects:
            return _run_in(scratch, job, objects)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if cache is not None:
            node_cache.trim(cache, job["cache"])


def _run_in(scratch: Path, job: dict, objects: Path | None) -> dict:
    clock = _Clock()
    repo, remote = _scratch_repo(scratch / "work", job["remote"], objects)
    _materialize(repo, remote, job["deps"])
    for rel in job["products"]:
        repo.workspace_path(rel, "stage output").parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **job["env"], "MLCTL_SCRATCH_REPO": str(repo.root)}  # what registry refuses to write to
    _open_run(scratch, repo, job.get("run"), env)
    clock.lap("materialize")
    log_path = scratch / "stage.log"
    sender = LineSender(job["sink"], job["name"]) if job.get("sink") is not None else None
    proc = StageProcess(job["cmd"], repo.root, env, log_path, on_line=sender)
    try:
        code = proc.run()
    except BaseException:  # a cancelled task: stop the command's process group, never orphan it
        proc.signal(signal.SIGKILL)
        raise
    finally:
        if sender is not None:
            sender.close()
    clock.lap("command")
    outs = _store_products(repo, remote, job["products"]) if code == 0 else {}
    run = _logged(repo, remote, job["run"]) if job.get("run") else None
    clock.lap("store")
    return {"exit_code": code, "log": _log_end(log_path), "tail": list(proc.tail), "node": _node(), "outs": outs,
            "run": run, "phases": clock.phases()}


class _Clock:
    """Seconds per phase of a task, and its start and end on the worker's wall clock."""

    def __init__(self):
        self.started, self.mark, self.laps = time.time(), time.perf_counter(), {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name], self.mark = now - self.mark, now

    def phases(self) -> dict:
        return {"started": self.started, "ended": time.time(), **self.laps}


def _scratch_repo(root: Path, remote: dict, objects: Path | None):
    """A repository for the task, its object store the node cache's (when there is one)."""
    from mlctl.store.config import set_path
    from mlctl.store.repo import init_repo
    from mlctl.store.transfer import RemoteStore

    root.mkdir(parents=True)
    settings: dict = {}
    for key, value in remote["items"].items():
        set_path(settings, f"remote.{remote['name']}.{key}", value)
    set_path(settings, "core.default_remote", remote["name"])
    repo, _ = init_repo(root, git_ignore=False, config=settings, durable=False)  # deleted with the task
    if objects is not None:
        os.rmdir(repo.objects.root)  # empty: just made
        os.symlink(objects, repo.objects.root, target_is_directory=True)
    return repo, RemoteStore.open(repo, remote["name"])


def _open_run(scratch: Path, repo, seed: dict | None, env: dict) -> None:
    """Point the command at the stage's tracking run, as the local executor does: a
    ``mlctl.start_run()`` there opens it from its seed (tracking/relay.py)."""
    if seed is None:
        return
    import json

    path = scratch / "run-seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    env.update({"MLCTL_RUN_ID": seed["id"], "MLCTL_RUN_ROOT": str(repo.root), "MLCTL_RUN_SEED": str(path)})
    env.pop("MLCTL_BACKEND_URL", None)  # the run is opened in the scratch index; the driver carries it to the backend


def _logged(repo, remote, seed: dict) -> dict | None:
    """What the command logged into the run (None: nothing); its artifacts' objects pushed."""
    from mlctl.tracking import api as tracking_api

    delta = tracking_api.relay_delta(repo, seed)
    objects = tracking_api.relay_objects(delta) if delta else []
    if objects:
        remote.push(objects)
    return delta


def _materialize(repo, remote, deps: dict) -> None:
    """Pull each dep's objects (a folder's manifest first, then its files) and write it."""
    from mlctl.store import tree
    from mlctl.store.materialize import materialize

    for rel, pointer in deps.items():
        remote.pull([pointer["hash"]])
        dest = repo.workspace_path(rel, "stage dep")
        dest.parent.mkdir(parents=True, exist_ok=True)
        used = [pointer["hash"]]
        if pointer["kind"] == "dir":
            used += tree.hashes(repo.objects, pointer["hash"])
            remote.pull(used[1:])
            materialize(repo.objects, tree.load(repo.objects, pointer["hash"]), dest, where=f"dep {rel}")
        else:
            repo.objects.copy_to(pointer["hash"], dest)
        node_cache.touch(repo.objects.path(digest) for digest in used)  # recency, for the node cache's trim


def _store_products(repo, remote, products: list[str]) -> dict:
    from mlctl.data import api as data_api
    from mlctl.pipeline.artifacts import Pointer, objects_of

    outs = {}
    for rel in products:
        if os.path.lexists(repo.workspace_path(rel, "stage output")):
            pointer = Pointer.of(data_api.hash_path(repo, rel))
            remote.push(objects_of(repo, pointer))
            outs[rel] = pointer.to_json()
    return outs


def _log_end(path: Path) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - LOG_LIMIT))
        return f.read().decode("utf-8", errors="replace")


def _node() -> str:
    try:
        import ray

        return f"{ray.util.get_node_ip_address()} ({ray.get_runtime_context().get_node_id()[:12]})"
    except Exception:  # noqa: BLE001 - outside a Ray worker (tests calling run_stage directly)
        return socket.gethostname()
