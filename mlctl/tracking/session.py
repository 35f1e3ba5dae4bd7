"""The process's active runs: the stack ``active_run()`` reads, the one background
thread that flushes every run's buffer on its interval, and ending runs at exit."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time

from mlctl.errors import MlctlError

DEFAULT_FLUSH_INTERVAL = 1.0

stack: list = []
stack_lock = threading.RLock()


def status_for(exc_type, exc) -> str:
    """The final status of a run left because of ``exc`` (None: a normal exit)."""
    if exc_type is None:
        return "finished"
    if issubclass(exc_type, KeyboardInterrupt):
        return "killed"
    if issubclass(exc_type, SystemExit) and exc.code in (None, 0):
        return "finished"
    return "failed"


def register(active) -> None:
    with stack_lock:
        stack.append(active)
    flusher.ensure_started()
    _install_exit_hooks()


def unregister(active) -> None:
    with stack_lock:
        if active in stack:
            stack.remove(active)


def innermost():
    with stack_lock:
        return stack[-1] if stack else None


class Flusher:
    """One daemon thread per process flushing every active run on its interval."""

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._pid = None

    def ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name="mlctl-flush", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        last: dict[int, float] = {}
        while True:
            with stack_lock:
                runs = list(stack)
            interval = min((r.flush_interval for r in runs), default=DEFAULT_FLUSH_INTERVAL)
            woken = self._wake.wait(interval / 2)
            self._wake.clear()
            now = time.monotonic()
            for run in runs:
                due = now - last.get(id(run), 0.0) >= run.flush_interval
                if run.pending() and (due or woken):
                    run.background_flush()
                    last[id(run)] = now
            live = {id(r) for r in runs}
            last = {k: v for k, v in last.items() if k in live}


flusher = Flusher()
_hooks_installed = {"done": False}
_crash: dict = {"exc": None}


def _install_exit_hooks() -> None:
    if _hooks_installed["done"]:
        return
    _hooks_installed["done"] = True
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        _crash["exc"] = (exc_type, exc)
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(end_all_at_exit)


def end_all_at_exit() -> None:
    """Runs never ended explicitly end with the process: failed after an uncaught
    exception, killed after Ctrl-C, finished otherwise."""
    crash = _crash["exc"]
    status = status_for(*crash) if crash else "finished"
    with stack_lock:
        pending = list(reversed(stack))
    for active in pending:
        try:
            active.end(status)
        except MlctlError as exc:
            sys.stderr.write(f"mlctl: error: could not save run {active.id}: {exc.message}\n")


def _after_fork_in_child() -> None:
    # a forked worker must not end (at its exit) the runs its parent is logging
    stack.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
