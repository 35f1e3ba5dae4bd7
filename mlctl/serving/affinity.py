"""Each worker on one core.

A worker's event loop and its model thread take turns holding the GIL, a few thousand times
a second under load. When the scheduler put the two threads on different cores, every turn
was a cross-core wake-up: on the 2-core benchmark machine the same logistic regression at
c=32 served 8,200-11,000 req/s at 0.09-0.12 ms of CPU a request, and 10,000-13,200 at
0.076-0.10 with the worker's threads on one core (c=8: 4,800-5,700 against 6,200-6,400;
the forest, whose calls are long, the same either way). So worker ``i`` pins itself to the
``i``-th core it may use (round robin), before it starts any thread, and its threads inherit
it. Not when the user gave the model's native libraries more than one thread
(``OMP_NUM_THREADS`` and the like): those threads should spread over the cores.

The prediction-log thread is the exception (``release_thread``): it wakes every 50 ms at
most and takes the GIL a few times each, so being on another core costs it nothing, while on
the worker's core each of its bursts (a block of rows, a parquet flush) stalled the requests
being parsed beside it: a 10,000-row request took 29 ms in the median with it pinned and
20 ms with it free, the same as with no log at all.
"""

from __future__ import annotations

import os

from mlctl.serving.models import NATIVE_THREAD_VARS

_allowed: set | None = None  # the cores this process could use before pin_worker


def pin_worker(index: int) -> int | None:
    """Pin the calling thread (a freshly forked worker) to one core; returns it, or None."""
    if not hasattr(os, "sched_setaffinity") or wants_native_threads():
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    core = cores[index % len(cores)]
    try:
        os.sched_setaffinity(0, {core})
    except OSError:  # a container that forbids it: run unpinned
        return None
    global _allowed
    _allowed = set(cores)
    return core


def release_thread() -> None:
    """Let the calling thread run on any core the worker could use before it was pinned
    (on Linux an affinity belongs to a thread); nothing when the worker is not pinned."""
    if _allowed is not None:
        try:
            os.sched_setaffinity(0, _allowed)
        except OSError:
            pass


def wants_native_threads() -> bool:
    for var in NATIVE_THREAD_VARS:
        value = os.environ.get(var, "1").strip()
        if value.isdigit() and int(value) > 1:
            return True
    return False
