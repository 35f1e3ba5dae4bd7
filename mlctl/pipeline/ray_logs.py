"""Live stage output from Ray tasks: a small actor the tasks send lines to and the driver
polls, so `pipeline run -v` prints a Ray stage's lines while it runs, prefixed by its
name, exactly as for a local stage.

Why not Ray's own ``log_to_driver``: it prints every worker's stdout on the driver's
terminal with Ray's ``(run_stage pid=..)`` prefix, whether or not `-v` was asked for, and
never reaches the observer (so it could not go through mlctl's prefixing, quiet mode or
the TTY/pipe rules). The actor takes no CPU (``num_cpus=0``), so it never competes with
stages for the cluster's slots.

The task batches lines and sends them every ``FLUSH`` seconds (one actor call per batch,
not per line); its last batch is sent and waited for before the task returns, so the
driver's final poll after the task ends sees every line.
"""

from __future__ import annotations

import threading


FLUSH = 0.2  # seconds between a task's batches
MAX_BATCH = 1000  # lines per call; a chattier stage sends more often


class LogSink:
    """The actor: lines per stage, taken (and forgotten) by the driver's polls."""

    def __init__(self):
        self.lines: dict[str, list[str]] = {}

    def put(self, stage: str, lines: list[str]) -> None:
        self.lines.setdefault(stage, []).extend(lines)

    def take(self, stage: str) -> list[str]:
        return self.lines.pop(stage, [])


def start_sink():
    """The actor's handle on a connected Ray (one per `pipeline run`)."""
    import ray

    return ray.remote(num_cpus=0)(LogSink).remote()


class LineSender:
    """In the task: collects the command's lines and sends them to the sink in batches."""

    def __init__(self, sink, stage: str):
        self.sink, self.stage = sink, stage
        self.buffer: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="mlctl-log-sender")
        self.thread.start()

    def __call__(self, line: str) -> None:
        with self.lock:
            self.buffer.append(line)
            full = len(self.buffer) >= MAX_BATCH
        if full:
            self._send()

    def _loop(self) -> None:
        while not self.done.wait(FLUSH):
            self._send()

    def _send(self, wait: bool = False) -> None:
        with self.lock:
            lines, self.buffer = self.buffer, []
        if lines:
            ref = self.sink.put.remote(self.stage, lines)
            if wait:
                import ray

                ray.get(ref)

    def close(self) -> None:
        """Stop the timer and deliver what is left (waited for: the driver's last poll
        after the task ends must see it)."""
        self.done.set()
        self.thread.join()
        self._send(wait=True)


def wait_polling(ref, sink, stage: str, on_line, poll: float = FLUSH) -> None:
    """Wait for the task ``ref``, passing its lines to ``on_line`` as they arrive; the
    last ones after it ends."""
    import ray

    while True:
        done = ray.wait([ref], timeout=poll)[0]
        for line in _take(sink, stage):
            on_line(line)
        if done:
            return


def _take(sink, stage: str) -> list[str]:
    import ray

    try:
        return ray.get(sink.take.remote(stage), timeout=30)
    except ray.exceptions.RayError:
        return []  # the sink is gone: the lines are still in the log the task returns


