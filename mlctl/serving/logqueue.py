"""Prediction logging off the request path.

The request handler only appends a tuple to a queue (no row building, no I/O). One
background thread per worker turns queued requests into rows and hands them to the
prediction log writer (mlctl/predlog/log.py), which buffers them. This thread decides
when the writer flushes a parquet object to the store: every ``flush_s`` seconds, or at
``FLUSH_ROWS`` buffered rows, whichever comes first. So a crash loses at most the rows of
the last interval, and the number of rows not yet in the store is known exactly (for
/metrics and `mlctl status`). Shutdown drains the queue and closes the writer.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time

_STOP = object()
# A flush (parquet, fsync, the ref under its lock) took ~15-20 ms from the request being
# parsed beside it; at 10,000 rows every 10,000-row request paid one. The crash-loss bound
# is flush_s, in time; this only caps the buffer (columns: ~30 MB at 36 columns).
FLUSH_ROWS = 100_000
GATHER_S = 0.05


class PredictionLogQueue:
    def __init__(self, writer, flush_s: float = 5.0):
        self.writer = writer
        self.flush_s = flush_s
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.put_rows = 0  # written only by the event loop
        self.appended_rows = 0  # the rest only by the log thread
        self.flushed_rows = 0
        self.failed_rows = 0
        self.thread = threading.Thread(target=self._run, name="mlctl-predlog", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def put(self, request_id: str, slot, X, predictions) -> None:
        """Called on the request path: O(1), never blocks."""
        self.put_rows += len(predictions)
        self.queue.put((request_id, time.time(), slot, X, predictions))

    def pending(self) -> int:
        """Rows answered but not yet in the store (queued or buffered)."""
        return max(self.put_rows - self.flushed_rows - self.failed_rows, 0)

    def close(self, timeout: float = 30.0) -> None:
        self.queue.put(_STOP)
        self.thread.join(timeout)

    # -- the log thread ---------------------------------------------------------------------
    def _run(self) -> None:
        from mlctl.serving.affinity import release_thread

        release_thread()  # off the worker's core: its bursts would stall requests there
        last_flush = time.monotonic()
        while True:
            try:
                item = self.queue.get(timeout=self.flush_s)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if item is not None:
                time.sleep(GATHER_S)  # let requests gather: one block of hundreds, not of one
                self._write(self._drain(item))
            due = time.monotonic() - last_flush >= self.flush_s
            if due or self.appended_rows - self.flushed_rows >= FLUSH_ROWS:
                self._flush()
                last_flush = time.monotonic()
        self._write(self._drain(None))
        self._flush()
        self._call(self.writer.close)

    def _flush(self) -> None:
        buffered = self.appended_rows - self.flushed_rows - self.failed_rows
        if buffered <= 0:
            return
        if self._call(self.writer.flush):
            self.flushed_rows += buffered
        else:
            self.failed_rows += buffered

    def _drain(self, first) -> list:
        items = [first] if first is not None else []
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return items
            if item is _STOP:
                self.queue.put(_STOP)  # seen again by the loop, after these rows
                return items
            items.append(item)

    def _write(self, items: list) -> None:
        for run, columnar in runs(items):
            if columnar:
                block = to_block(run)
                count = len(block["predictions"])
                appended = self._call(self.writer.append_block, block)
            else:
                rows = [row for item in run for row in to_rows(*item)]
                count = len(rows)
                appended = self._call(self.writer.append, rows)
            self.appended_rows += count
            if not appended:
                self.failed_rows += count

    def _call(self, fn, *args) -> bool:
        try:
            fn(*args)
            return True
        except Exception as exc:  # the log must never take the server down
            sys.stderr.write(f"mlctl: warning: prediction log: {type(exc).__name__}: {exc}\n")
            return False


def to_rows(request_id: str, ts: float, slot, X, predictions) -> list[dict]:
    """Rows in the prediction log's format (mlctl/predlog/log.py): one per input row."""
    names = slot.columns.names
    if hasattr(X, "to_dict"):
        records = X.to_dict("records")
    else:
        ints = [i for i, k in enumerate(slot.columns.kinds) if k in ("int", "bool")]
        values = X.tolist()
        if ints:  # the fast path carried them as float64; log them as the client sent them
            for row in values:
                for i in ints:
                    if not math.isnan(row[i]):
                        row[i] = int(row[i])
        records = [dict(zip(names, row)) for row in values]
    preds = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
    return [{"request_id": request_id, "timestamp": ts, "version": slot.version, "role": slot.role,
             "instance": i, "inputs": record, "prediction": pred}
            for i, (record, pred) in enumerate(zip(records, preds))]


def runs(items: list):
    """Consecutive requests to one slot, each run with whether it can go as a block (a
    float64 array in, a 1-d array of numbers, bools or strings out) or must go as rows."""
    run: list = []
    kind = False
    for item in items:
        columnar = _columnar(item)
        if run and (item[2] is not run[0][2] or columnar != kind):
            yield run, kind
            run = []
        run.append(item)
        kind = columnar
    if run:
        yield run, kind


def _columnar(item) -> bool:
    import numpy as np

    X, predictions = item[3], item[4]
    return (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f"
            and isinstance(predictions, np.ndarray) and predictions.ndim == 1 and predictions.dtype.kind in "biufU")


def to_block(run: list) -> dict:
    """A run of requests as a prediction-log block (mlctl/predlog/tables.py)."""
    import numpy as np

    slot = run[0][2]
    X = run[0][3] if len(run) == 1 else np.concatenate([item[3] for item in run])
    by_column = np.ascontiguousarray(X.T)
    inputs = {}
    for i, (name, kind) in enumerate(zip(slot.columns.names, slot.columns.kinds)):
        values = by_column[i]
        if kind in ("int", "bool") and not np.isnan(values).any():
            values = values.astype(np.int64)  # carried as float64; logged as the client sent them
        inputs[name] = values
    return {"request_ids": [item[0] for item in run], "timestamps": [item[1] for item in run],
            "counts": [len(item[4]) for item in run], "version": slot.version, "role": slot.role,
            "inputs": inputs, "predictions": np.concatenate([item[4] for item in run])}
