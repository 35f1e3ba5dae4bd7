"""``mlctl run log -- CMD``: run a command as a tracked run.

The run is created (and owned by this process) before the command starts; the command
sees ``MLCTL_RUN_ID``/``MLCTL_RUN_ROOT``, so ``mlctl.start_run()`` inside it logs into
the same run. Its stdout and stderr pass through byte for byte (a tail of each is
kept); Ctrl-C reaches the command and mlctl waits for it; SIGTERM is forwarded. Then the
exit code, duration, metrics files written during the run and the named artifacts are
recorded and the run is finished: ``finished`` on exit 0, ``failed`` otherwise,
``killed`` when a signal ended the command. A command that cannot start is a run too, as
``time`` and ``env`` see it: exit 127 when it is not found, 126 when it cannot be
executed, the run ``failed`` with the reason in ``env.error``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.atomic import atomic_write_text
from mlctl.tracking import capture
from mlctl.tracking.api import ENV_RUN_ID, ENV_RUN_ROOT
from mlctl.tracking.log import LogSpec, check_artifacts
from mlctl.tracking.metrics_file import DEFAULT_NAMES, read_metrics_file

TAIL_BYTES = 8192


@dataclass
class WrapResult:
    run_id: str
    exit_code: int
    status: str
    duration: float
    metrics_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # mlctl input errors found afterwards
    error: str | None = None  # why the command could not start


NOT_FOUND, NOT_EXECUTABLE = 127, 126  # the shell's (and time's, env's) codes


class _CannotStart(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def run_command(repo, spec: LogSpec, argv: list[str], id_file: str | None = None,
                stdout=None, stderr=None) -> WrapResult:
    from mlctl.tracking import writes

    if not argv:
        raise UsageError("no command given after --")
    data = capture.named_data(repo, spec.data) if spec.data else None
    run = writes.create_run(repo, experiment=spec.experiment, name=spec.name, params=spec.params,
                            tags=spec.tags, metrics=spec.metrics, data=data, command=_shell_join(argv))
    try:
        if id_file:
            atomic_write_text(id_file, run.id + "\n")
        started = time.time()
        code, tails = _execute(repo, run.id, argv, stdout or sys.stdout, stderr or sys.stderr)
    except _CannotStart as exc:
        writes.finish_run(repo, run.id, status="failed", exit_code=exc.code,
                          env={"error": exc.reason, "duration": 0.0})
        return WrapResult(run.id, exc.code, "failed", 0.0, error=exc.reason)
    except BaseException:
        writes.finish_run(repo, run.id, status="failed")
        raise
    duration = time.time() - started
    result = WrapResult(run.id, _exit_status(code), _status(code), duration)
    _collect_outputs(repo, run.id, spec, started, result)
    writes.finish_run(repo, run.id, status=result.status, exit_code=result.exit_code,
                      env={"output_tail": tails, "duration": duration})
    return result


def _shell_join(argv: list[str]) -> str:
    import shlex

    return shlex.join(argv)


def _execute(repo, run_id: str, argv: list[str], out, err) -> tuple[int, dict]:
    env = dict(os.environ, **{ENV_RUN_ID: run_id, ENV_RUN_ROOT: str(repo.root)})
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError:
        if os.sep in argv[0] and os.path.isfile(argv[0]):  # the file is there, its #! interpreter is not
            raise _CannotStart(NOT_EXECUTABLE, f"command is not executable: {argv[0]} "
                                               "(its #! interpreter was not found)") from None
        raise _CannotStart(NOT_FOUND, f"command not found: {argv[0]}") from None
    except OSError as exc:  # no permission, a folder, no interpreter line (ENOEXEC)
        raise _CannotStart(NOT_EXECUTABLE, f"command is not executable: {argv[0]} ({exc.strerror})") from None
    pumps = [_Pump(proc.stdout, out), _Pump(proc.stderr, err)]
    previous = _forward_signals(proc)
    try:
        for pump in pumps:
            pump.start()
        code = proc.wait()
        for pump in pumps:
            pump.join()
    finally:
        _restore_signals(previous)
    return code, {"stdout": pumps[0].tail_text(), "stderr": pumps[1].tail_text()}


class _Pump(threading.Thread):
    """Copy a pipe to a stream unchanged, keeping the last TAIL_BYTES."""

    def __init__(self, pipe, stream):
        super().__init__(daemon=True)
        self.pipe, self.stream = pipe, stream
        self.tail = bytearray()

    def run(self) -> None:
        target = getattr(self.stream, "buffer", None)
        fd = self.pipe.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.tail += chunk
            del self.tail[:-TAIL_BYTES]
            try:
                if target is not None:
                    target.write(chunk)
                    target.flush()
                else:
                    self.stream.write(chunk.decode(errors="replace"))
                    self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # our reader went away; the command still runs to completion
        self.pipe.close()

    def tail_text(self) -> str:
        return self.tail.decode("utf-8", errors="replace")


def _forward_signals(proc) -> dict:
    """Ctrl-C goes to the whole foreground group, the command included: mlctl waits.
    SIGTERM/SIGHUP sent to mlctl alone are passed on to the command."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    return previous


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _exit_status(code: int) -> int:
    return 128 - code if code < 0 else code  # killed by signal N -> 128+N, like a shell


def _status(code: int) -> str:
    return "finished" if code == 0 else ("killed" if code < 0 else "failed")


def _collect_outputs(repo, run_id: str, spec: LogSpec, started: float, result: WrapResult) -> None:
    """Metrics files and artifacts the command produced. Problems with what the user
    named are reported, not raised: the run must still be finished."""
    from mlctl.tracking.artifacts import log_artifact
    from mlctl.tracking.writes import log_batch

    points = []
    for path in spec.metrics_files:
        try:
            points.extend(read_metrics_file(path))
            result.metrics_files.append(path)
        except UsageError as exc:
            result.problems.append(exc.message)
    for name in DEFAULT_NAMES:
        if name in spec.metrics_files or not _written_since(Path(name), started):
            continue
        try:
            points.extend(read_metrics_file(name))
            result.metrics_files.append(name)
        except UsageError as exc:
            result.problems.append(exc.message)
    if points:
        log_batch(repo, run_id, points)
    for path in spec.artifacts:
        try:
            check_artifacts([path])
            log_artifact(repo, run_id, path)
        except UsageError as exc:
            result.problems.append(exc.message)


def _written_since(path: Path, started: float) -> bool:
    try:
        return path.stat().st_mtime >= started - 0.01
    except OSError:
        return False
