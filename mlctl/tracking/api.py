"""The Python API for training scripts: ``mlctl.start_run`` and ``mlctl.active_run``.

Logging calls only append to an in-memory buffer; a background thread writes the buffer
in one transaction every ``tracking.flush_interval`` seconds (default 1), and again when
the run ends or the process exits. So a 10,000-step loop costs microseconds per call,
and a run killed by SIGKILL keeps every point flushed before the kill and is seen as
``killed`` (liveness.py).

Inside ``mlctl run log -- CMD`` (or a pipeline stage) the environment names a run
(``MLCTL_RUN_ID``, and ``MLCTL_RUN_ROOT`` for its workspace); ``start_run()`` then joins
that run instead of creating one: it logs into it and leaves finishing it to its owner.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from mlctl import lazyapi
from mlctl.errors import NotFoundError, UsageError
from mlctl.tracking import session, values

ENV_RUN_ID = "MLCTL_RUN_ID"
ENV_RUN_ROOT = "MLCTL_RUN_ROOT"
MAX_BUFFERED_POINTS = 100_000  # past this, wake the flusher early to bound memory


class ActiveRun:
    """A run this process is logging to. Use as a context manager, or call ``end()``."""

    def __init__(self, repo, run_id: str, owner: bool, flush_interval: float, experiment: str | None = None):
        self.repo = repo
        self._id = run_id
        self.experiment = experiment  # where runs nested in this one go unless told otherwise
        self.owner = owner
        self.flush_interval = flush_interval
        self._mutex = threading.Lock()
        self._write_mutex = threading.Lock()
        self._points: list[tuple] = []
        self._params: dict = {}
        self._tags: dict = {}
        self._env: dict = {}
        self._next_step: dict[str, int] = {}
        self.ended = False
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"ActiveRun({self._id!r}, owner={self.owner})"

    @property
    def id(self) -> str:
        return self._id

    @property
    def info(self):
        """The run as stored now (after flushing what is buffered)."""
        from mlctl.tracking.runs import get_run

        self.flush()
        return get_run(self.repo, self._id)

    # -- logging (buffered) -----------------------------------------------------------------
    def log_metric(self, key: str, value, step: int | None = None, timestamp: float | None = None) -> None:
        values.check_key(key, "metric")
        number = values.metric_value(value, key)
        if step is not None:
            step = values.metric_step(step, key)
        ts = time.time() if timestamp is None else float(timestamp)
        with self._mutex:
            if step is None:
                step = self._next_step.get(key, 0)
            if step >= self._next_step.get(key, 0):
                self._next_step[key] = step + 1
            self._points.append((key, step, number, ts))
            full = len(self._points) >= MAX_BUFFERED_POINTS
        if full:
            session.flusher.wake()

    def log_metrics(self, metrics: dict, step: int | None = None, timestamp: float | None = None) -> None:
        ts = time.time() if timestamp is None else timestamp
        for key, value in metrics.items():
            self.log_metric(key, value, step=step, timestamp=ts)

    def log_param(self, key: str, value) -> None:
        self.log_params({key: value})

    def log_params(self, params: dict) -> None:
        from mlctl.tracking.writes import check_params

        checked = check_params(params)
        with self._mutex:
            self._params.update(checked)

    def set_tag(self, key: str, value) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict) -> None:
        from mlctl.tracking.writes import check_tags

        checked = check_tags(tags)
        with self._mutex:
            self._tags.update(checked)

    def log_artifact(self, path: str | os.PathLike, name: str | None = None) -> dict:
        """Store a file or folder in the object store now; returns {relpath: hash}."""
        from mlctl.tracking.artifacts import log_artifact

        return log_artifact(self.repo, self._id, path, name)

    def log_data(self, paths) -> dict:
        """Record the versions of tracked data paths this run used; returns {path: hash}."""
        from mlctl.tracking.edit import add_data

        return add_data(self.repo, self._id, [paths] if isinstance(paths, (str, os.PathLike)) else paths)

    # -- flushing ---------------------------------------------------------------------------
    def _take(self):
        with self._mutex:
            taken = (self._points, self._params, self._tags, self._env)
            self._points, self._params, self._tags, self._env = [], {}, {}, {}
        return taken

    def _give_back(self, taken) -> None:
        points, params, tags, env = taken
        with self._mutex:
            self._points[:0] = points
            self._params = {**params, **self._params}
            self._tags = {**tags, **self._tags}
            self._env = {**env, **self._env}

    def pending(self) -> bool:
        return bool(self._points or self._params or self._tags or self._env)

    def flush(self) -> None:
        """Write everything buffered, in one transaction."""
        from mlctl.tracking.writes import log_batch

        with self._write_mutex:
            taken = self._take()
            if not any(taken):
                return
            try:
                log_batch(self.repo, self._id, taken[0], taken[1], taken[2], taken[3])
            except BaseException:
                self._give_back(taken)
                raise

    def background_flush(self) -> None:
        try:
            self.flush()
        except Exception:  # the data stays buffered: the next flush or end() retries (and raises)
            pass

    # -- ending -----------------------------------------------------------------------------
    def end(self, status: str = "finished") -> None:
        """Flush, and (for the run's owner) record the final status and end time, in one
        transaction."""
        from mlctl.tracking.writes import finish_run

        if self.ended:
            return
        self.ended = True
        session.unregister(self)
        if not self.owner or os.getpid() != self._pid:  # a forked child only adds its points
            self.flush()
            return
        with self._write_mutex:
            points, params, tags, env = self._take()
            finish_run(self.repo, self._id, status=status, points=points, params=params, tags=tags, env=env)

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.end(session.status_for(exc_type, exc))


# -- starting -------------------------------------------------------------------------------
def start_run(experiment: str | None = None, name: str | None = None, params: dict | None = None,
              tags: dict | None = None, run_id: str | None = None, repo=None,
              data: list | None = None, parent: str | None = None) -> ActiveRun:
    """Start a run (or join the one ``MLCTL_RUN_ID`` names, or resume ``run_id``).

    A run started inside another active run records it as its parent and, unless
    ``experiment`` is given, goes into the parent's experiment (as MLflow's nested runs
    do). ``parent`` names the parent run instead (always a new run: a pipeline's sweep
    instances, started from several threads, are children of the pipeline's run).
    ``data`` names the tracked data paths the run uses (``[]``: none); without it
    every tracked pointer is recorded."""
    from mlctl.tracking import capture, writes

    repo = _resolve_repo(repo)
    join_ref = run_id or (os.environ.get(ENV_RUN_ID) if session.innermost() is None and parent is None else None)
    if join_ref:
        active = _join(repo, join_ref, from_env=run_id is None)
        if params:
            active.log_params(params)
        if tags:
            active.set_tags(tags)
        if data:
            active.log_data(data)
    else:
        parent_id, parent_experiment = _parent(repo, parent)
        named = capture.named_data(repo, data) if data is not None else None  # [] records none
        run = writes.create_run(repo, experiment=experiment or parent_experiment, name=name, params=params,
                                tags=tags, parent_id=parent_id, data=named)
        active = ActiveRun(repo, run.id, owner=True, flush_interval=_flush_interval(repo),
                           experiment=run.experiment)
    session.register(active)
    return active


def _parent(repo, ref: str | None) -> tuple[str | None, str | None]:
    """The parent run's id and experiment: the run ``ref`` names, else the innermost active run."""
    if ref is None:
        active = session.innermost()
        return (active.id, active.experiment) if active is not None else (None, None)
    from mlctl.tracking.runs import get_run

    run = get_run(repo, ref, reap=False)
    return run.id, run.experiment


def _join(repo, ref: str, from_env: bool) -> ActiveRun:
    from mlctl.tracking import capture
    from mlctl.tracking.runs import get_run
    from mlctl.tracking.writes import next_steps, resume_run

    try:
        run = get_run(repo, ref, reap=False)
    except NotFoundError:
        from mlctl.tracking.relay import join_seeded

        if not (from_env and join_seeded(repo, ref)):  # on a Ray worker: the run is opened from its seed
            where = f" (named by {ENV_RUN_ID})" if from_env else ""
            raise NotFoundError(f"unknown run: {ref}{where}") from None
        run = get_run(repo, ref, reap=False)
    owner = not from_env and resume_run(repo, run.id)
    active = ActiveRun(repo, run.id, owner=owner, flush_interval=_flush_interval(repo), experiment=run.experiment)
    active._next_step.update(next_steps(repo, run.id))
    if from_env:  # the interpreter that actually trains is the one worth recording
        env = capture.environment()
        active._env.update({k: env[k] for k in ("python", "implementation", "executable", "packages")})
    return active


_found_repos: dict[tuple, object] = {}


def _resolve_repo(repo):
    """The repository to log to: given, named by the environment, or found from the
    working directory (once per directory: a sweep starts thousands of runs)."""
    from mlctl.store.repo import Repo, find_repo

    if isinstance(repo, Repo):
        return repo
    if repo is not None:
        start = Path(repo)
    elif os.environ.get(ENV_RUN_ROOT) and os.environ.get(ENV_RUN_ID):
        start = Path(os.environ[ENV_RUN_ROOT])
    else:
        start = Path.cwd()
    key = (str(start), os.environ.get("MLCTL_DIR"))
    if key not in _found_repos:
        _found_repos[key] = find_repo(start)
    return _found_repos[key]


_intervals: dict[str, float] = {}


def _flush_interval(repo) -> float:
    key = str(repo.dot)
    if key not in _intervals:
        raw = os.environ.get("MLCTL_FLUSH_INTERVAL") or repo.config.get("tracking.flush_interval")
        try:
            _intervals[key] = max(0.01, float(raw)) if raw is not None else session.DEFAULT_FLUSH_INTERVAL
        except ValueError:
            raise UsageError(f"invalid flush interval: {raw!r}") from None
    return _intervals[key]


def active_run() -> ActiveRun | None:
    """The innermost run started in this process and not yet ended, or None."""
    return session.innermost()


# The rest of the door, imported on first use (mlctl/lazyapi.py says why).
EXPORTS = {
    "log_run": "log",
    "LogSpec": "log",
    "parse_params": "log",
    "parse_metrics": "log",
    "parse_tags": "log",
    "run_command": "wrap",
    "list_runs": "runs",
    "count_runs": "runs",
    "get_run": "runs",
    "experiments": "runs",
    "short_run_ids": "runs",
    "compare_runs": "compare",
    "compare_json": "compare:to_json",
    "tag_run": "edit",
    "delete_runs": "edit",
    "purge_runs": "edit",
    "restore_artifacts": "artifacts",
    "fetch_trees": "artifact_trees",
    "fetch_artifact_files": "artifact_trees:fetch_files",
    "import_runs": "backend_import",
    "relay_seed": "relay",
    "open_relay": "relay",
    "relay_delta": "relay",
    "relay_objects": "relay",
    "apply_relay": "relay",
    "push": "share",
    "pull": "share",
    "curves": "plot",
    "write_plot": "plot",
    "parse_sort": "query",
    "check_columns": "report",
    "list_columns": "report",
    "list_rows": "report",
    "show_lines": "report",
    "compare_rows": "report",
    "database": "db",  # the backend connection the registry's pgindex shares
}
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
