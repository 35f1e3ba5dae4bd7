"""Run stage jobs in dependency order, independent ones at the same time (up to ``jobs``).

The main thread schedules and waits in short slices; workers do the stage work. SIGINT
(Ctrl-C) and SIGTERM (how CI cancels a job) only raise a flag that the main thread checks
between slices, so they never land in the middle of its bookkeeping (pipeline.lock). When a stage fails, its dependents are
skipped and independent branches go on. On interrupt, ``stop`` is called with an
escalation level (0: SIGINT, 1: SIGTERM, 2: SIGKILL) until every worker has returned,
so nothing is left running or half-written when ``run`` returns.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable

ESCALATE_AFTER = 3.0  # seconds between SIGINT, SIGTERM and SIGKILL


class Scheduler:
    def __init__(self, order: list[str], upstream: dict[str, tuple[str, ...]], jobs: int,
                 work: Callable[[str], object], succeeded: Callable[[object], bool],
                 skip: Callable[[str, str], object], on_done: Callable[[object], None],
                 stop: Callable[[int], None]):
        self.order, self.upstream, self.jobs = order, upstream, max(1, jobs)
        self.work, self.succeeded, self.skip, self.on_done, self.stop = work, succeeded, skip, on_done, stop
        self.results: dict[str, object] = {}
        self.failed_root: dict[str, str] = {}  # stage -> the failed stage that blocks it
        self.interrupted = False

    def run(self) -> dict[str, object]:
        pending = list(self.order)
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="stage") as pool, StopSignals() as signals:
            self.signals = signals
            try:
                while (pending or running) and not signals.count:
                    self._start_ready(pending, running, pool)
                    if running:
                        self._collect(running, timeout=0.1)
            except KeyboardInterrupt:  # a signal that came before the handlers were in place
                signals.count += 1
            if signals.count:
                self.interrupted = True
                self._drain(running)
        return self.results

    def _start_ready(self, pending: list[str], running: dict[Future, str], pool) -> None:
        for name in list(pending):
            ups = self.upstream.get(name, ())
            blocked = [u for u in ups if u in self.results and not self.succeeded(self.results[u])]
            if blocked:
                pending.remove(name)
                root = self.failed_root.get(blocked[0], blocked[0])
                self.failed_root[name] = root
                self._finish(name, self.skip(name, root))
            elif all(u in self.results for u in ups) and len(running) < self.jobs:
                pending.remove(name)
                running[pool.submit(self.work, name)] = name

    def _collect(self, running: dict[Future, str], timeout: float) -> None:
        done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            name = running.pop(future)
            self._finish(name, future.result())

    def _finish(self, name: str, result: object) -> None:
        self.results[name] = result
        self.on_done(result)

    def _drain(self, running: dict[Future, str]) -> None:
        """Stop the running stages, escalating, and wait for every worker to return."""
        level, deadline = 0, time.monotonic() + ESCALATE_AFTER
        seen = self.signals.count
        self.stop(level)
        while running:
            self._collect(running, timeout=0.1)
            if self.signals.count > seen:  # another Ctrl-C: stop harder, right now
                seen, deadline = self.signals.count, 0.0
            if running and time.monotonic() >= deadline and level < 2:
                level += 1
                deadline = time.monotonic() + ESCALATE_AFTER
                self.stop(level)


class StopSignals:
    """Count SIGINT/SIGTERM instead of raising (main thread only; elsewhere a no-op)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.count = 0
        self._old: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.count += 1

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
