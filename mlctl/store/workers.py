"""Per-file work (hash, stage, copy, verify) over many files, spread over processes.

Threads are the wrong tool for it: each 50 KB file costs a dozen system calls, and every
call hands the GIL to the other thread, so two threads on two cores spend their time
waking each other (measured: hashing and staging 20,000 files of 50 KB takes ~20% longer
on two threads than on two processes; checkout and push behave alike). So a big job runs
its tasks in worker processes; a small one stays on threads, because starting workers
costs ~40 ms.

Workers are forked on Linux (cheap: nothing is imported again), and only while this
process has no other thread (a fork could copy a lock some thread holds mid-use);
otherwise, and on other systems, the work runs on threads. No fork server or spawn: those
re-import the caller's main script in every worker, a trap for Python API users. Workers
ignore Ctrl-C (the parent handles it and stops the pool) and exit on their own when the
parent dies, so a killed command never leaves a worker behind holding the repository's
lock. Task functions must be module-level and take picklable arguments; errors,
MlctlError included, come back as raised.

``Pipeline`` is the other half of such jobs: the one background thread that commits
(makes durable, renames into place) one batch while the workers produce the next.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Callable, Iterable

PROCESS_FROM = 1000  # files from which worker processes pay for their start
WATCH_EVERY = 0.5  # seconds between a worker's checks that its parent is still alive


def wants_processes(jobs: int, files: int) -> bool:
    return jobs > 1 and files >= PROCESS_FROM and can_fork()


def can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


class FilePool:
    """``map_all(fn, tasks)`` on ``jobs`` workers: processes when asked for and possible
    (``self.processes`` says which), else threads."""

    def __init__(self, jobs: int, processes: bool):
        self.processes = processes
        self._pool: Executor
        if processes and can_fork():
            self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_worker_setup, initargs=(os.getpid(),))
            self._pool.submit(_nothing)  # fork the workers now, before the caller starts threads
        else:
            self.processes = False
            self._pool = ThreadPoolExecutor(jobs)

    def map_all(self, fn: Callable, tasks: Iterable, drop: Callable[[object], None] | None = None,
                done: Callable[[object], None] | None = None) -> list:
        """Every task's result, in task order; ``done(result)`` as each one arrives (the
        workers go on meanwhile). When a task (or ``done``) fails, tasks not started are
        cancelled, running ones finish (nothing is left half-done behind our back), every
        result goes to ``drop`` (to delete what it staged), and the first error is raised."""
        futures = [self._pool.submit(fn, task) for task in tasks]
        results, error = [], None
        for future in futures:
            if future.cancelled():
                continue
            try:
                result = future.result()
                if error is None and done:
                    done(result)
                results.append(result)
            except BaseException as exc:  # KeyboardInterrupt too: drop, then re-raise
                if error is None:
                    error = exc
                    for later in futures:
                        later.cancel()  # those not started yet never will
        if error is not None:
            for result in results:
                if drop:
                    drop(result)
            raise error
        return results

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> "FilePool":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(cancel=exc_type is not None)


class Pipeline:
    """Runs each submitted step on one background thread, one at a time and in order,
    so the disk flushes one batch while the caller prepares the next; the caller waits
    for the previous step before handing over another (bounded temp space)."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._last = None

    def submit(self, fn, *args) -> None:
        self.wait()
        self._last = self._pool.submit(fn, *args)

    def wait(self) -> None:
        if self._last is not None:
            last, self._last = self._last, None
            last.result()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        try:
            if exc_type is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True)


def _nothing() -> None:
    pass


def _worker_setup(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)  # orphaned: the command is gone, so is any use for our work
        time.sleep(WATCH_EVERY)
