"""Where a stage's command runs: the executor interface the stage runner talks to.

An executor gets one ``Job`` (a stage whose outputs were cleared, its environment and log
file) and returns an ``Attempt`` once the stage's products are in the workspace (or the
command failed). Everything else — deciding to run, the run-cache, pipeline.lock, the
tracking run — is the runner's, so local and Ray stages are recorded alike.

- ``local``: the command as a process in the repository (mlctl/pipeline/process.py).
- ``ray``: a Ray task on a cluster, with data moved through the default remote
  (mlctl/pipeline/ray_executor.py). Ray is an optional extra, imported only when used.
"""

from __future__ import annotations

import socket
import threading

from mlctl.errors import UsageError
from mlctl.pipeline.job import Attempt, Job
from mlctl.pipeline.process import StageProcess
from mlctl.store.repo import Repo

EXECUTORS = ("local", "ray")
RAY_HINT = "install the extra: pip install 'mlctl[ray]'"


class LocalExecutor:
    name = "local"
    fatal = None  # an error that ends the whole run (the Ray executor's unreachable cluster)

    def __init__(self, repo: Repo):
        self.repo = repo
        self.processes: dict[str, StageProcess] = {}
        self.node = socket.gethostname()
        self.stop_signal: int | None = None

    def run(self, job: Job) -> Attempt:
        proc = StageProcess(job.stage.cmd, self.repo.root, job.env, job.log_path, on_line=job.on_line)
        self.processes[job.stage.name] = proc
        if self.stop_signal is not None:  # stopped while this one was being set up
            proc.signal(self.stop_signal)
        code = proc.run()
        return Attempt(code, list(proc.tail), self.node)

    def stop(self, level: int, sig: int) -> None:
        self.stop_signal = sig
        for proc in list(self.processes.values()):
            proc.signal(sig)

    def close(self) -> None:
        pass


def configured(repo: Repo, given: str | None) -> str:
    """The executor's name: ``--executor``, else config ``pipeline.executor``, else local."""
    name = given or repo.config.get("pipeline.executor") or "local"
    if name not in EXECUTORS:
        raise UsageError(f"unknown executor {name!r}", hint="use one of: " + ", ".join(EXECUTORS))
    return name


def make_executor(repo: Repo, name: str | None = None, address: str | None = None,
                  store_lock: threading.Lock | None = None):
    """The executor to run stages with; a missing Ray extra is a usage error (exit 2)."""
    name = configured(repo, name)
    if name == "local":
        if address:
            raise UsageError("--address is for the Ray executor", hint="add --executor ray")
        return LocalExecutor(repo)
    if not ray_installed():
        raise UsageError("the Ray executor needs the ray package (the mlctl[ray] extra)", hint=RAY_HINT)
    from mlctl.pipeline.address import SPECIAL, split_address
    from mlctl.pipeline.ray_executor import RayExecutor

    address = address or repo.config.get("pipeline.ray_address")
    if address and address not in SPECIAL:
        split_address(address)  # a malformed address: exit 2 before anything runs
    return RayExecutor(repo, address, store_lock or threading.Lock())


def ray_installed() -> bool:
    """Whether Ray can be imported, without importing it (~0.5 s: the executor does that
    while the plan is made)."""
    import importlib.util

    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False
