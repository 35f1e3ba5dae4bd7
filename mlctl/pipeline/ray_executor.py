"""The Ray executor: each stage command as a Ray task, data moved through the default remote.

Before submitting, the driver stores and pushes the objects of the stage's deps (code deps
too: they are data like any other) and of the params file; the task (ray_task.py) pulls
them into a scratch folder of its own, runs the command, pushes its products' objects and
returns their hashes; the driver pulls those objects and checks the products out into the
workspace, where the runner records them exactly as after a local run. Ray is connected to
on the first stage that runs, so a pipeline served from the run-cache never touches it.

Ctrl-C cancels the tasks (level 0 politely, then by killing the worker); a worker that
dies is Ray's to retry (``max_retries``); a command that fails is the runner's (``retries:``).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from mlctl.errors import MlctlError, UsageError
from mlctl.pipeline import artifacts
from mlctl.pipeline.address import SPECIAL, split_address
from mlctl.pipeline.artifacts import Pointer
from mlctl.pipeline.job import Attempt, Job
from mlctl.pipeline.ray_logs import start_sink, wait_polling
from mlctl.store.repo import Repo

WORKER_DEATH_RETRIES = 3  # Ray resubmits a task whose worker or node died this many times
POLL = 0.2  # seconds between the driver's polls for a task's end and its new lines
CONNECT_TIMEOUT = 5.0  # seconds for the cluster's port to answer before Ray is asked to connect


class RayExecutor:
    name = "ray"

    def __init__(self, repo: Repo, address: str | None, store_lock: threading.Lock):
        from mlctl.store.transfer import RemoteStore

        self.repo, self.address, self.store_lock = repo, address, store_lock
        self.remote = RemoteStore.open(repo)  # no remote: exit 2 before anything runs
        self.workdir = repo.config.get("pipeline.ray_workdir")  # read once a run, not once a stage
        self.cache_limit = _cache_limit(repo)
        self._connected = threading.Lock()
        self._task = None
        self.sink = None  # the live-log actor (ray_logs.py), started when a stage's lines are wanted
        self.fatal: UsageError | None = None  # the cluster could not be reached: every stage fails at once
        self.refs: dict[str, object] = {}
        self.on_remote: set[str] = set()  # objects this run pushed or fetched (under _push_lock)
        self._push_lock = threading.Lock()
        self.stopping = threading.Event()
        # importing Ray takes ~0.5 s and touches no cluster: do it while the plan is made
        # Ray's C++ core logs a warning line every few seconds while it waits for a cluster;
        # read when Ray is imported, so set before: what went wrong is one line, ours
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
        self._importing = threading.Thread(target=_import_ray, name="mlctl-import-ray", daemon=True)
        self._importing.start()  # joined before any use of Ray: never two threads importing it at once

    # -- driver ------------------------------------------------------------------------
    def run(self, job: Job) -> Attempt:
        self._importing.join()
        import ray

        stage = job.stage
        shipping = time.perf_counter()
        deps = self._ship(list(stage.deps) + self._params_file(stage))
        shipped = time.perf_counter()
        task = self._remote_task().options(name=f"mlctl:{stage.name}", **_resources(stage))
        sink = self._sink() if job.on_line is not None else None
        driver = {"ship": shipped - shipping, "connect": time.perf_counter() - shipped}
        run_id = job.env.get("MLCTL_RUN_ID")
        submitted = time.time()
        ref = task.remote({"name": stage.name, "cmd": stage.cmd, "deps": deps, "products": list(stage.products),
                           "remote": self._remote_spec(), "env": _task_env(job.env),
                           "workdir": self.workdir, "cache": self.cache_limit,
                           "sink": sink,
                           "run": self._run_seed(run_id)})
        self.refs[stage.name] = ref
        if self.stopping.is_set():
            ray.cancel(ref, force=True)
        if job.on_line is not None:
            wait_polling(ref, sink, stage.name, job.on_line, POLL)  # the lines come live
        else:
            ray.wait([ref])  # nobody shows them: no polling beside the running commands
        try:
            done = ray.get(ref)
        except (ray.exceptions.TaskCancelledError, ray.exceptions.WorkerCrashedError) as exc:
            return self._lost(job, exc)
        except ray.exceptions.RayError as exc:
            return self._lost(job, exc)
        finally:
            self.refs.pop(stage.name, None)
        returned = time.time()
        self._write_log(job, done["log"])
        if done.get("run") is not None and run_id:
            self._relay(run_id, done["run"])
        if done["exit_code"] == 0:
            self._fetch(done["outs"], stage)
        _log_phases(job, done.get("phases"), driver, submitted, returned)
        return Attempt(done["exit_code"], done["tail"], done["node"])

    def _lost(self, job: Job, exc: Exception) -> Attempt:
        text = f"ray task lost: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        self._write_log(job, text + "\n")
        return Attempt(-signal.SIGINT if self.stopping.is_set() else 1, [text], "")

    def _remote_task(self):
        """The task function, registered with a connected Ray (once, on first use)."""
        with self._connected:
            if self.fatal is not None:
                raise self.fatal
            if self._task is None:
                import ray

                from mlctl.pipeline.ray_task import run_stage

                try:
                    _check_reachable(self.address)
                    if not ray.is_initialized():
                        ray.init(address=self.address, log_to_driver=False, ignore_reinit_error=True,
                                 configure_logging=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    self.fatal = UsageError(f"cannot connect to Ray at {self.address or 'auto'}: {first}",
                                            hint="pass --address HOST:PORT, ray://HOST:10001 or auto, "
                                                 "or set pipeline.ray_address")
                    raise self.fatal from None
                self._task = ray.remote(max_retries=WORKER_DEATH_RETRIES, retry_exceptions=False)(run_stage)
            return self._task

    def _sink(self):
        """The live-log actor, started on first use: an actor is a worker process of its
        own (~1 s of a CPU to start), not worth paying when nobody shows the lines."""
        with self._connected:
            if self.sink is None:
                self.sink = start_sink()
            return self.sink

    def _ship(self, rels: list[str]) -> dict[str, dict]:
        """Store the deps' objects here and push them to the remote; their pointers."""
        from mlctl.data import api as data_api

        pointers = {}
        with self.store_lock:
            for rel in rels:
                if os.path.lexists(self.repo.root / rel):
                    pointers[rel] = Pointer.of(data_api.hash_path(self.repo, rel))
            digests = [d for p in pointers.values() for d in artifacts.objects_of(self.repo, p)]
        # objects this run pushed or fetched are on the remote (content-addressed): the code and
        # params every instance of a sweep shares cost one remote check, not one per instance;
        # one push at a time, so a stage never goes ahead of an object another is still pushing
        with self._push_lock:
            missing = [d for d in digests if d not in self.on_remote]
            if missing:
                self.remote.push(missing)
                self.on_remote.update(missing)
        return {rel: p.to_json() for rel, p in pointers.items()}

    def _params_file(self, stage) -> list[str]:
        from mlctl.pipeline.loader import load

        params_file = load(self.repo).pipeline.params_file if stage.params else None
        return [params_file] if params_file and params_file not in stage.deps else []

    def _remote_spec(self) -> dict:
        """The default remote's config (credentials included: the workers act for this
        user), with a folder remote's path made absolute."""
        name = self.remote.name
        prefix = f"remote.{name}."
        items = {k[len(prefix):]: v for k, v in self.repo.config.items().items() if k.startswith(prefix)}
        if "://" not in items.get("url", "://"):
            items["url"] = str(self.remote.backend.url)
        return {"name": name, "items": items}

    def _run_seed(self, run_id: str | None) -> dict | None:
        from mlctl.tracking import api as tracking_api

        return tracking_api.relay_seed(self.repo, run_id) if run_id else None

    def _relay(self, run_id: str, delta: dict) -> None:
        """Add what the command logged on the worker to the run here (its artifacts first)."""
        from mlctl.tracking import api as tracking_api

        objects = tracking_api.relay_objects(delta)
        with self.store_lock:
            if objects:
                self.remote.pull(objects)
            tracking_api.apply_relay(self.repo, run_id, delta)

    def _fetch(self, outs: dict[str, dict], stage) -> None:
        """Pull the products' objects and check them out into the workspace."""
        pointers = {rel: Pointer.from_json(p) for rel, p in outs.items() if rel in stage.products}
        with self.store_lock:
            for p in pointers.values():
                self.remote.pull([p.hash])
                objects = artifacts.objects_of(self.repo, p)
                self.remote.pull(objects)
                with self._push_lock:
                    self.on_remote.update(objects)
            artifacts.restore(self.repo, {r: p for r, p in pointers.items() if r in stage.outs},
                              {r: p for r, p in pointers.items() if r in stage.metrics})

    def _write_log(self, job: Job, text: str) -> None:
        """The task's log into the stage's log file (its lines were shown live already)."""
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(job.log_path, "a", encoding="utf-8") as log:
            log.write(text)

    def stop(self, level: int, sig: int) -> None:
        self._importing.join()
        import ray

        self.stopping.set()
        for ref in list(self.refs.values()):
            try:
                ray.cancel(ref, force=level >= 1)
            except (MlctlError, ray.exceptions.RayError, ValueError):
                pass

    def close(self) -> None:
        if self.sink is not None:
            self._importing.join()
            import ray

            try:
                ray.kill(self.sink)
            except (ray.exceptions.RayError, ValueError):
                pass
            self.sink = None


def _cache_limit(repo) -> int:
    """The node cache's size in bytes (0: none) from ``pipeline.ray_cache``."""
    from mlctl.pipeline.node_cache import DEFAULT_LIMIT
    from mlctl.store.memory import parse_size

    text = repo.config.get("pipeline.ray_cache")
    return DEFAULT_LIMIT if text is None else parse_size(text)


def _check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Refuse an address where nothing listens before Ray dials it: ``ray.init`` retries an
    unreachable cluster for minutes. ``auto`` and no address are Ray's own to resolve."""
    if not address or address in SPECIAL:
        return
    host, port = split_address(address)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc.strerror or exc})") from None


def _import_ray() -> None:
    try:
        import ray  # noqa: F401

        import mlctl.pipeline.ray_task  # noqa: F401
    except ImportError:  # said when the executor connects
        pass


def _log_phases(job: Job, phases: dict | None, driver: dict, submitted: float, returned: float) -> None:
    """One line in the stage's log saying where the task's time went: ship (store and push
    the deps), connect (to Ray: the first task only), wait (submitted to started on the
    worker: a free CPU, a worker process, the arguments), materialize, command, store (hash
    and push the outs), return (the result back), fetch (pull and check out the outs).
    Wait and return compare two machines' clocks: on a cluster they carry the clocks' skew."""
    if not phases:
        return
    fetched = time.time()
    parts = {**driver, "wait": phases["started"] - submitted,
             **{k: phases[k] for k in ("materialize", "command", "store") if k in phases},
             "return": returned - phases["ended"], "fetch": fetched - returned}
    with open(job.log_path, "a", encoding="utf-8") as log:
        log.write("ray task: " + ", ".join(f"{k} {max(v, 0.0):.3f} s" for k, v in parts.items()) + "\n")


def _resources(stage) -> dict:
    res = stage.resources
    options = {"num_cpus": res.get("cpu", 1)}
    if res.get("gpu"):
        options["num_gpus"] = res["gpu"]
    if res.get("memory"):
        options["memory"] = int(res["memory"])
    return options


def _task_env(env: dict[str, str]) -> dict[str, str]:
    """What the task adds to its worker's environment: mlctl's stage variables, not the
    driver's whole environment (paths and credentials there are this machine's)."""
    return {k: v for k, v in env.items() if k in ("MLCTL_STAGE", "PYTHONUNBUFFERED")}
