"""Adaptive micro-batching: requests that arrive while the model is busy share its next call.

The policy, and the bound it honours:
- No request is ever held back to wait for company that has not arrived. When the model is
  idle, the batcher lets the event loop finish parsing the requests the worker has already
  received (until two turns of the loop add none, at most the model's per-call time; see
  _gather), then calls the model with all of them. A lone request at low load waits two
  idle turns of the loop, microseconds. Only a model whose call has a fixed cost of 10 ms
  or more waits for requests not yet arrived, a tenth of that cost before each call
  (_lingers), so that clients answered by one call can join the next.
- A request is never split: a request of any size is one slice of one call. A request
  larger than the current batch cap runs alone.
- The batch cap adapts so that one model call is expected to take at most
  ``latency_ms`` (default 20 ms): the batcher keeps a moving estimate of the model's
  per-call and per-row cost and caps the rows of a merged batch accordingly (never above
  ``max_rows``). A model whose fixed cost per call alone nears or passes the bound may
  still spend half the bound on rows (see cap()). So the time a request waits in the
  queue is at most the one call ahead of it, which is held to the bound;
  ``mlctl_batch_wait_seconds`` in /metrics shows it.
- The cap is an estimate, and an estimate taught only by calls of one size cannot learn
  that larger calls cost little more. So every PROBE_EVERY-th call that the cap holds back
  (more rows wait than it allows) takes a few more rows than the cap (_call_cap): at most
  twice the cap, so that call may take up to twice the bound.
- If a merged batch fails, each request in it is retried alone, so one bad request
  fails only itself.
- A call that outlives the timeout fails its requests with PredictTimeout (504) and is
  abandoned: the batcher moves on to a fresh model thread, so a hung model call never
  hangs the worker. Past MAX_STUCK abandoned calls the worker asks to be replaced.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from typing import Any, Callable

EWMA = 0.2
FIT_DECAY = 0.05  # of the moments the per-call/per-row fit uses: about the last 20 calls
MAX_STUCK = 4
LINGER = 0.1  # of a call's fixed cost, waited before the call when that is 1 ms or more
GATHER_TURNS = 2  # turns of the event loop that add no request end the gathering
PROBE_EVERY = 8  # calls held back by the cap between two that try a larger one (_call_cap)


class Batcher:
    def __init__(self, predict: Callable[[Any], Any], concat: Callable[[list], Any], executor,
                 max_rows: int = 256, latency_ms: float = 20.0, on_batch: Callable | None = None,
                 timeout_s: float = 30.0):
        self.predict = predict
        self.concat = concat
        self.executor = executor
        self.max_rows = max_rows
        self.latency_s = latency_ms / 1000.0
        self.on_batch = on_batch  # (rows, requests, wait_s_list) -> None; metrics
        self.timeout_s = timeout_s
        self.retired = False
        self.stuck = 0
        self.on_stuck: Callable | None = None  # called when MAX_STUCK calls hang at once
        self.queue: deque = deque()
        self.wakeup: asyncio.Event | None = None
        self.task: asyncio.Task | None = None
        self.per_call = 0.0002  # seconds; refined by every call
        self.per_row = 0.00001
        self._moments = [0.0] * 6  # weight, rows, seconds, rows^2, rows*seconds, seconds^2 (weighted)
        self._calls = 0
        self._held_back = 0  # calls the cap made smaller than the queue

    def start(self) -> None:
        self.wakeup = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, X, n: int):
        """Predictions for X (n rows), from a call that may include other requests."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.append((X, n, future, time.perf_counter()))
        self.wakeup.set()
        timer = loop.call_later(self.timeout_s, _expire, future, self.timeout_s)
        try:
            return await future
        finally:
            timer.cancel()

    def retire(self) -> None:
        """Stop once the queue is empty (after a hot reload replaced this slot)."""
        self.retired = True
        self.wakeup.set()

    def cap(self) -> int:
        """Rows a merged call may hold: what fits in the bound after the call's fixed cost.
        A model whose fixed cost alone is near or past the bound (a 300-tree forest: ~30 ms
        a call, a few microseconds a row) still gets half the bound for rows: one call of
        hundreds of rows costs it barely more than a call of one, while one request a call
        made every request queue behind all the others (23-37 req/s instead of hundreds)."""
        budget = max(self.latency_s - self.per_call, self.latency_s / 2)
        rows = int(budget / self.per_row) if self.per_row > 0 else self.max_rows
        return max(1, min(self.max_rows, rows))

    def pending(self) -> int:
        return len(self.queue)

    async def _run(self) -> None:
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():
                # a cancel that Python 3.11's wait_for swallowed (the model call finished in
                # the same instant): without this the loop would wait for work forever and
                # hang the server's (and asyncio.run's) shutdown
                raise asyncio.CancelledError
            if not self.queue:
                if self.retired:
                    return
                self.wakeup.clear()
                await self.wakeup.wait()
                if not self.queue:
                    continue  # retired
                await self._gather()
            elif self._lingers():
                await self._gather()
            batch = self._take()
            await self._call(batch)

    async def _gather(self) -> None:
        """Let the requests this worker has already received join the call: the event loop
        parses them one turn at a time, so dispatching at the first request made calls of
        ~5 requests at c=32, and a model whose call costs ~0.3 ms of Python (a scikit-learn
        pipeline) spent that GIL time five times as often as needed: ~0.05 ms of every
        request, slower answers for all. Gathering ends when two turns add nothing (a lone
        request waits two idle turns, microseconds), at the batch cap, or after the model's
        own per-call time. Only a model with a costly call waits for requests that have
        not arrived yet, a tenth of that cost (see _lingers)."""
        deadline = time.perf_counter() + self.per_call
        cap = self.cap()
        if self._lingers() and self._rows_queued() < cap:
            await asyncio.sleep(LINGER * self.per_call)
        quiet = 0
        while quiet < GATHER_TURNS and time.perf_counter() < deadline:
            before = len(self.queue)
            await asyncio.sleep(0)
            quiet = quiet + 1 if len(self.queue) == before else 0
            if self._rows_queued() >= cap:
                return

    def _lingers(self) -> bool:
        """A model whose call has a fixed cost of 10 ms or more (a 300-tree forest: ~30 ms,
        whatever the rows) waits a tenth of it before each call, so that the clients just
        answered can send their next request in time to join: without it, 32 clients split
        into two groups of 16 that took turns, two calls for the work of one (~480 instead
        of ~800 req/s, bimodal between the two)."""
        return LINGER * self.per_call >= 0.001

    def _rows_queued(self) -> int:
        return sum(item[1] for item in self.queue)

    def _call_cap(self, queued: int) -> int:
        """The rows this call may take, ``queued`` rows waiting: the cap, but every
        PROBE_EVERY-th call that the cap holds back takes max(2 x cap, cap + 3) rows.

        Calls of one or two rows teach the fit nothing about rows (see _learn), so a
        per-row estimate that a spell of slow calls had raised until the cap was one or two
        rows stayed there: two workers of a 300-tree forest (13 ms a call whatever its
        rows) fell from ~1,600 to 121-273 req/s within a benchmark run and never came back,
        at 11-15 ms of CPU a request, one request a call. The larger calls give the fit
        sizes to compare again; cap + 3 so that even a cap of one yields a spread the fit
        uses."""
        cap = self.cap()
        if queued <= cap or cap >= self.max_rows:
            return cap
        self._held_back += 1
        if self._held_back % PROBE_EVERY:
            return cap
        return min(self.max_rows, max(2 * cap, cap + 3))

    def _take(self) -> list:
        cap = self._call_cap(self._rows_queued())
        first = self.queue.popleft()
        batch, rows = [first], first[1]
        while self.queue and rows + self.queue[0][1] <= cap:
            item = self.queue.popleft()
            batch.append(item)
            rows += item[1]
        return batch

    async def _call(self, batch: list) -> None:
        now = time.perf_counter()
        rows = sum(item[1] for item in batch)
        X = batch[0][0] if len(batch) == 1 else self.concat([item[0] for item in batch])
        try:
            out = await self._run_call(X)
        except PredictTimeout as exc:
            for item in batch:
                _settle(item[2], exc=exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][2], exc=exc)
            else:
                await self._one_by_one(batch)
            return
        self._learn(time.perf_counter() - now, rows)
        if self.on_batch:
            self.on_batch(rows, len(batch), [now - item[3] for item in batch])
        start = 0
        for _X, n, future, _t in batch:
            _settle(future, out[start:start + n])
            start += n

    async def _one_by_one(self, batch: list) -> None:
        for X, n, future, _t in batch:
            try:
                _settle(future, await self._run_call(X))
            except Exception as exc:
                _settle(future, exc=exc)

    async def _run_call(self, X):
        """The model on the model thread, given up on after the timeout."""
        call = asyncio.wrap_future(self.executor.submit(self.predict, X))
        try:
            return await asyncio.wait_for(asyncio.shield(call), self.timeout_s)
        except asyncio.TimeoutError:
            self._abandon(call)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Python 3.11's wait_for can turn a cancel that races its timeout into a
                # TimeoutError; swallowing it would leave shutdown waiting on this task forever
                raise asyncio.CancelledError from None
            raise PredictTimeout(self.timeout_s) from None

    def _abandon(self, call: asyncio.Future) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.stuck += 1
        call.add_done_callback(self._unstuck)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mlctl-model")
        if self.stuck >= MAX_STUCK and self.on_stuck:
            self.on_stuck()

    def _unstuck(self, call: asyncio.Future) -> None:
        self.stuck -= 1
        if not call.cancelled():
            call.exception()  # retrieved, so asyncio does not warn about it

    def _learn(self, seconds: float, rows: int) -> None:
        """Split the call's time into a fixed and a per-row part.

        Calls of different sizes are fitted together (seconds = per_call + per_row * rows,
        least squares over exponentially weighted moments); while the sizes do not vary,
        the part they can tell moves (a call of one or two rows: per_call; of more: per_row).
        Every call also bounds both parts from above: its rows took ``seconds``. Learning
        per_call from small calls only let a loaded server, whose calls are all large,
        charge the fixed cost to its rows: the cap fell, calls shrank, and a 300-tree
        forest (~22 ms a call, ~0.2 ms a row) ended at one request a call (77 req/s). And a
        per-row average taught only by calls of three rows or more could be pinned by one
        stalled call at a cap of two requests: the bimodal "slow mode" of a loaded server."""
        m = self._moments
        for i, value in enumerate((1.0, rows, seconds, rows * rows, rows * seconds, seconds * seconds)):
            m[i] += FIT_DECAY * (value - m[i])
        self._calls += 1
        mean_x, mean_y = m[1] / m[0], m[2] / m[0]
        spread = m[3] / m[0] - mean_x * mean_x
        if spread >= 1.0:
            covariance = m[4] / m[0] - mean_x * mean_y
            slope = covariance / spread
            self.per_row = max(slope - 2.0 * self._slope_error(slope, covariance, spread, mean_y), 0.0)
            self.per_call = max(mean_y - self.per_row * mean_x, 0.0)
        elif rows <= 2:
            self.per_call += EWMA * (seconds - self.per_call)
        else:
            per_row = max(seconds - self.per_call, 0.0) / rows
            self.per_row += EWMA * (per_row - self.per_row)
        self.per_row = min(self.per_row, seconds / rows)
        self.per_call = min(self.per_call, seconds)

    def _slope_error(self, slope: float, covariance: float, spread: float, mean_y: float) -> float:
        """The standard error of the fitted per-row cost. The cap uses the fit less two of
        them: a model whose fixed cost dwarfs its rows' (a 300-tree forest: ~30 ms a call,
        ~0.05 ms a row) has calls whose times vary by more than their rows could explain
        (another worker or the load generator on the same core), and the bare slope read
        that noise as milliseconds a row: the cap fell to a few rows, calls shrank, the
        sizes varied less, and the noise pinned it there (two workers of the forest went
        from ~1,480 to ~210 req/s within a minute)."""
        m = self._moments
        residual = max(m[5] / m[0] - mean_y * mean_y - slope * covariance, 0.0)
        calls = min(self._calls, 2.0 / FIT_DECAY - 1.0)  # the moments' effective sample size
        return math.sqrt(residual / (spread * calls))


class PredictTimeout(Exception):
    def __init__(self, seconds: float):
        super().__init__(f"the model did not answer within {seconds:g} s")


def _settle(future: asyncio.Future, result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():  # the client went away or timed out
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _expire(future: asyncio.Future, seconds: float) -> None:
    # the exception is built only for a request that timed out, not for every request
    _settle(future, exc=PredictTimeout(seconds))


def concat_inputs(parts: list):
    first = parts[0]
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    import numpy as np

    return np.concatenate(parts, axis=0)
