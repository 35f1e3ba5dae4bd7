"""`pipeline run`: bring the selected stages up to date — skip, restore from the run-cache,
or run — in dependency order, independent stages in parallel, as one tracking run.

Write order per stage: outputs into the store, then the run-cache entry; pipeline.lock is
written once, by the main thread, when the scheduler returns. A stage that fails or is
interrupted stores nothing and gets no entry, so its partial outputs are never cached.
Only one `pipeline run` works in a repository at a time (``.mlctl/locks/pipeline.lock``);
a second waits up to the lock timeout, then exit 3.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from mlctl.errors import LockTimeoutError
from mlctl.pipeline import artifacts, dag, loader, lockfile, logs, runcache, where
from mlctl.pipeline.lockfile import StageRecord
from mlctl.pipeline.plan import OK, RESTORE, decide
from mlctl.pipeline.executors import LocalExecutor, make_executor
from mlctl.pipeline.job import Job
from mlctl.pipeline.recording import Recorder, run_params
from mlctl.pipeline.report import (FAILED, INTERRUPTED, NOT_RUN, RAN, RESTORED, SKIPPED, UP_TO_DATE,
                                   RunReport, StageResult)
from mlctl.pipeline.scheduler import Scheduler
from mlctl.pipeline.state import Reason, evaluate
from mlctl.store.atomic import atomic_write_text
from mlctl.store.repo import Repo

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


class Observer:
    """Progress callbacks (called from worker threads); the CLI renders them.
    ``wants_lines`` false: ``stage_output`` shows nothing, so stages' output lines need not
    be delivered live (a Ray task then sends none back while it runs)."""

    wants_lines = True

    def planned(self, stages: list[str]) -> None: ...
    def waiting_for_lock(self, holder: str) -> None: ...
    def stage_started(self, stage: str, action: str, reasons: list[Reason], cmd: str) -> None: ...
    def stage_output(self, stage: str, line: str) -> None: ...
    def stage_finished(self, result: StageResult) -> None: ...


def default_jobs(repo: Repo) -> int:
    value = repo.config.get("pipeline.jobs")
    return int(value) if value is not None else (os.cpu_count() or 1)


def run(repo: Repo, targets=(), force: bool = False, jobs: int | None = None,
        observer: Observer | None = None, executor: str | None = None, address: str | None = None) -> RunReport:
    """``executor``: local or ray (default: config pipeline.executor, else local);
    ``address``: the Ray cluster's (default: config pipeline.ray_address, else Ray's own)."""
    observer = observer or Observer()
    project = loader.load(repo)  # a bad pipeline.yaml fails before waiting for the lock
    store_lock = threading.Lock()
    stage_executor = make_executor(repo, executor, address, store_lock)  # a missing extra: exit 2, before the lock
    with _pipeline_lock(repo, observer) as lock:
        if lock.waited:  # another run may have changed the workspace meanwhile
            project = loader.load(repo)
        names = dag.select(project.pipeline, targets)
        recorder = Recorder(repo, "pipeline", run_params(project, names), {"mlctl.pipeline": _joined(project, names)},
                            project)
        runner = StageRunner(repo, project, force, observer, recorder, stage_executor, store_lock)
        observer.planned(names)
        started = time.monotonic()
        scheduler = Scheduler(names, project.pipeline.upstream, jobs or default_jobs(repo), runner.execute,
                              succeeded=lambda r: r.succeeded, skip=runner.skipped, on_done=runner.finished,
                              stop=runner.stop)
        try:
            results = scheduler.run()
        finally:
            runner.write_lock()
            stage_executor.close()
        ordered = [results.get(n) or StageResult(n, NOT_RUN, cmd=project.pipeline.stages[n].cmd) for n in names]
        report = RunReport(ordered, interrupted=scheduler.interrupted, duration=time.monotonic() - started,
                           log_dir=os.path.relpath(runner.log_dir, repo.root) if runner.log_dir else None)
        runner.record(report)
        where.record(repo, report.results, report.run_id)  # after the lock file: history, never hashed
    if stage_executor.fatal is not None:  # what was restored or ran is recorded; the cause is exit 2
        raise stage_executor.fatal
    return report


class _pipeline_lock:
    def __init__(self, repo: Repo, observer: Observer):
        self.lock = repo.lock("pipeline")
        self.observer = observer
        self.waited = False

    def __enter__(self):
        if not self.lock.try_acquire():
            self.waited = True
            self.observer.waiting_for_lock(_holder(self.lock.path))
            try:
                self.lock.acquire()
            except LockTimeoutError as exc:
                raise LockTimeoutError(f"another `mlctl pipeline run` is running in this repository{_holder(self.lock.path)}",
                                       hint=exc.hint) from None
        return self

    def __exit__(self, *exc):
        self.lock.release()


def _holder(path) -> str:
    try:
        pid, host = path.read_text().split()[:2]
        return f" (pid {pid} on {host})"
    except (OSError, ValueError):
        return ""


class StageRunner:
    """Does one stage's work in a worker thread; keeps pipeline.lock in the main thread."""

    def __init__(self, repo: Repo, project: loader.Project, force: bool, observer: Observer, recorder: Recorder,
                 executor=None, store_lock: threading.Lock | None = None):
        self.repo, self.project, self.force, self.observer, self.recorder = repo, project, force, observer, recorder
        self.executor = executor or LocalExecutor(repo)
        self.records = lockfile.read(repo)
        self.changed = False
        self.stopping = threading.Event()
        self._log_dir = None
        self._log_dir_lock = threading.Lock()
        # one stage at a time talks to the data layer: its repository lock has a timeout,
        # and a stage storing a large output must not make a parallel one time out
        self._store_lock = store_lock or threading.Lock()

    @property
    def log_dir(self):
        return self._log_dir

    def _ensure_log_dir(self):
        with self._log_dir_lock:
            if self._log_dir is None:
                self._log_dir = logs.new_run_dir(self.repo)
            return self._log_dir

    # -- worker side ---------------------------------------------------------------------
    def execute(self, name: str) -> StageResult:
        """One stage's work; never raises, so one stage's trouble cannot stop the others."""
        stage = self.project.pipeline.stages[name]
        if self.stopping.is_set():
            return StageResult(name, NOT_RUN, cmd=stage.cmd)
        started = time.monotonic()
        try:
            result = self._execute(stage)
        except Exception as exc:  # noqa: BLE001 - reported as the stage's failure
            if exc is self.executor.fatal:  # nothing can run (an unreachable cluster): start no more stages
                self.stopping.set()
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            hint = getattr(exc, "hint", None)
            result = StageResult(name, FAILED, cmd=stage.cmd, error=message + (f" ({hint})" if hint else ""))
        result.duration = time.monotonic() - started
        return result

    def _execute(self, stage) -> StageResult:
        name = stage.name
        record = self.records.get(name)
        with artifacts.PathHasher(self.repo) as hasher:
            ev = evaluate(hasher, stage, self.project.params, record)
        item = decide(self.repo, ev, record, self.force)
        result = StageResult(name, UP_TO_DATE, item.reasons, fingerprint=ev.fingerprint, cmd=stage.cmd,
                             deps=ev.deps, params=ev.params)
        if item.action == OK:
            result.outs = dict(record.outs) if record else {}
            result.metrics = dict(record.metrics) if record else {}
        elif item.action == RESTORE:
            self.recorder.run_for(stage)
            self.observer.stage_started(name, "restoring", item.reasons, stage.cmd)
            self._restore(result, item.entry)
        else:
            self.recorder.run_for(stage)
            self.observer.stage_started(name, "running", item.reasons, stage.cmd)
            self._run(stage, result)
        return result

    def _restore(self, result: StageResult, entry: runcache.Entry) -> None:
        with self._store_lock:
            artifacts.restore(self.repo, entry.outs, entry.metrics)
        runcache.touch(self.repo, entry.fingerprint)
        result.outcome, result.outs, result.metrics = RESTORED, dict(entry.outs), dict(entry.metrics)

    def _run(self, stage, result: StageResult) -> None:
        if stage.validate_deps and not self._gate(stage, result, "deps"):
            return  # the outputs of the last good run stay as they were
        log_path = self._ensure_log_dir() / f"{stage.name}.log"
        result.log = os.path.relpath(log_path, self.repo.root)
        on_line = (lambda line: self.observer.stage_output(stage.name, line)) if getattr(self.observer, "wants_lines", True) else None
        job = Job(stage, self._env(stage), log_path, on_line=on_line)
        started = time.monotonic()
        for attempt in range(stage.retries + 1):  # a failed command runs again, from clean outputs
            if self.stopping.is_set():
                if attempt == 0:
                    result.outcome = NOT_RUN
                    return
                break  # interrupted between attempts
            if attempt:
                self.observer.stage_output(stage.name, f"retrying (attempt {attempt + 1} of {stage.retries + 1})")
            self._clear_products(stage)
            done = self.executor.run(job)
            result.exit_code, result.log_tail, result.node = done.exit_code, done.tail, done.node
            result.attempts = attempt + 1
            if result.exit_code == 0 or self.stopping.is_set():
                break
        result.executor = self.executor.name
        result.duration = time.monotonic() - started
        if self.stopping.is_set():
            result.outcome, result.error = INTERRUPTED, "interrupted"
        elif result.exit_code != 0:
            result.outcome, result.error = FAILED, _exit_text(result.exit_code)
        else:
            self._save(stage, result)

    def _clear_products(self, stage) -> None:
        for path in stage.products:
            artifacts.remove(self.repo, path)
            (self.repo.root / path).parent.mkdir(parents=True, exist_ok=True)

    def _save(self, stage, result: StageResult) -> None:
        missing = [p for p in stage.products if not os.path.lexists(self.repo.root / p)]
        if missing:
            result.outcome = FAILED
            result.error = f"the command succeeded but did not write {', '.join(missing)}"
            return
        if stage.validate_outs and not self._gate(stage, result, "outs"):
            return  # nothing stored, cached or recorded: the next stage never sees these outs
        with self._store_lock:
            result.outs, result.metrics = artifacts.save(self.repo, list(stage.outs), list(stage.metrics))
        runcache.record(self.repo, runcache.Entry(
            result.fingerprint, stage.name, stage.cmd, result.deps, result.params, result.outs, result.metrics,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), duration=round(result.duration, 3)))
        result.outcome = RAN

    def _gate(self, stage, result: StageResult, which: str) -> bool:
        """Validate the stage's deps (before its command) or outs (before they are stored)
        with its suites; a failure fails the stage, naming the report it wrote."""
        from mlctl.validation.api import validate_paths

        suites = stage.validate_deps if which == "deps" else stage.validate_outs
        checked = [p for p in (stage.deps if which == "deps" else stage.outs) if p not in suites]
        for number, suite in enumerate(suites, 1):
            outcome = validate_paths(self.repo, suite, checked)
            suffix = f"-{number}" if number > 1 else ""  # one report per suite, none written over
            report = self._ensure_log_dir() / f"{stage.name}.validate-{which}{suffix}.json"
            atomic_write_text(report, json.dumps(outcome.to_json(), indent=1, default=str) + "\n")
            if not outcome.success:
                result.outcome = FAILED
                result.error = (f"data validation of its {which} failed ({suite}: {outcome.failure_text()}); "
                                f"report: {os.path.relpath(report, self.repo.root)}")
                return False
        return True

    def _env(self, stage) -> dict[str, str]:
        env = dict(os.environ)
        env["MLCTL_RUN_ID"] = self.recorder.run_for(stage)  # an instance logs into its child run
        env["MLCTL_RUN_ROOT"] = str(self.repo.root)  # joins the run even from another folder
        env["MLCTL_STAGE"] = stage.name
        env.setdefault("PYTHONUNBUFFERED", "1")  # live progress lines from Python stages
        return env

    def skipped(self, name: str, failed_upstream: str) -> StageResult:
        stage = self.project.pipeline.stages[name]
        return StageResult(name, SKIPPED, [Reason("upstream", failed_upstream, new="failed")], cmd=stage.cmd,
                           error=f"upstream {failed_upstream} failed")

    def stop(self, level: int) -> None:
        self.stopping.set()
        self.executor.stop(level, STOP_SIGNALS[min(level, 2)])

    # -- main-thread side ----------------------------------------------------------------
    def finished(self, result: StageResult) -> None:
        if result.outcome in (RAN, RESTORED):
            self.records[result.stage] = StageRecord(result.fingerprint, result.cmd, result.deps, result.params,
                                                     result.outs, result.metrics)
            self.changed = True
        stage = self.project.pipeline.stages[result.stage]
        if stage.group and self.recorder.run is not None:
            self.recorder.end_child(stage, result)
        self.observer.stage_finished(result)

    def write_lock(self) -> None:
        """pipeline.lock once, at the end (also after a failure or an interrupt). A process
        killed before this loses no work: the run-cache restores those stages next time."""
        if self.changed:
            lockfile.write(self.repo, self.records, self.project.pipeline.order)

    def record(self, report: RunReport) -> None:
        if self.recorder.run is None:
            return
        report.run_id = self.recorder.run_id
        path = self._ensure_log_dir() / "report.json"
        report.log_dir = os.path.relpath(path.parent, self.repo.root)
        atomic_write_text(path, json.dumps(report.to_json(), indent=1, default=str) + "\n")
        self.recorder.finish(report, path)


def _joined(project: loader.Project, names: list[str]) -> str:
    """The selected stages for the run's tag: a whole sweep by its stage's name."""
    groups = project.pipeline.groups
    whole = {g for g, members in groups.items() if set(members) <= set(names)}
    return ",".join(dict.fromkeys(project.pipeline.stages[n].group if project.pipeline.stages[n].group in whole else n
                                  for n in names))


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
