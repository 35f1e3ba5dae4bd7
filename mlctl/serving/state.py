"""One worker's serving state: the slots (primary, canary, shadow), their batchers, the
prediction log queue, the alias watcher and the metrics, started and stopped with the
ASGI lifespan of the worker."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import xxhash

from mlctl.serving.batching import Batcher, concat_inputs
from mlctl.serving.metrics import BATCH_BUCKETS, WAIT_BUCKETS, Metrics, publish
from mlctl.serving.models import ModelSlot, reorder_for

SHADOW_BACKLOG = 64  # shadow requests queued beyond this are dropped, never waited for


class ServerState:
    def __init__(self, settings, primary: ModelSlot, canary: ModelSlot | None = None,
                 shadow: ModelSlot | None = None, provider=None, log_writer_factory=None,
                 run_dir: Path | None = None, worker: int = 0, features=None, gate=None):
        self.settings = settings
        self.primary = primary
        self.canary = canary
        self.canary_percent = settings.canary[1] if settings.canary else 0.0
        self.shadow = shadow
        self.provider = provider
        self.log_writer_factory = log_writer_factory
        self.run_dir = run_dir
        self.worker = worker
        self.features = features  # a FeatureEnricher with --features, else None
        self.gate = gate  # a RowGate with --validate, else None
        self.metrics = Metrics()
        self.log = None
        self.watcher = None
        self.ready = False
        self.started = time.time()
        self.shadow_inflight = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mlctl-model")
        self.shadow_executor = ThreadPoolExecutor(1, thread_name_prefix="mlctl-shadow")
        self._stop_publish = threading.Event()
        self._published = None

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        for slot in self.slots():
            self._attach_batcher(slot)
        if self.settings.log_predictions and self.log_writer_factory:
            from mlctl.serving.logqueue import PredictionLogQueue

            self.log = PredictionLogQueue(self.log_writer_factory(), self.settings.log_flush_s)
            self.log.start()
        if self.provider is not None and self.settings.model.follows_alias:
            from mlctl.serving.reload import AliasWatcher

            self.watcher = AliasWatcher(self.provider, self.settings.model, lambda: self.primary.version,
                                        self._install_threadsafe, self.settings.reload_interval_s)
            self.watcher.start()
        self._publish_model_info()
        if self.run_dir is not None:
            threading.Thread(target=self._publisher, name="mlctl-metrics", daemon=True).start()
        self.ready = True

    async def stop(self) -> None:
        """After uvicorn has drained in-flight requests: stop watching, flush the log."""
        self.ready = False
        if self.watcher:
            self.watcher.stop()
        for _ in range(200):  # shadow calls still running get a moment to be logged
            if not self.shadow_inflight:
                break
            await asyncio.sleep(0.01)
        if self.log:
            await asyncio.get_running_loop().run_in_executor(None, self.log.close)
        self._stop_publish.set()
        self._publish_now()

    def slots(self) -> list[ModelSlot]:
        return [s for s in (self.primary, self.canary, self.shadow) if s is not None]

    def _attach_batcher(self, slot: ModelSlot) -> None:
        executor = self.shadow_executor if slot.role == "shadow" else self.executor
        s = self.settings
        batcher = Batcher(slot.predict, concat_inputs, executor, s.max_batch_rows, s.batch_latency_ms,
                          on_batch=self._batch_observer(slot.role), timeout_s=s.predict_timeout_s)
        batcher.on_stuck = self._replace_me
        batcher.start()
        slot.extra["batcher"] = batcher

    def _replace_me(self) -> None:
        """Too many model calls hang: drain and exit; the supervisor starts a fresh worker."""
        import signal
        import sys

        sys.stderr.write(f"mlctl serve: worker {self.worker} has hung model calls; replacing it\n")
        os.kill(os.getpid(), signal.SIGTERM)

    def _batch_observer(self, role: str):
        labels = (("role", role),)
        observe = self.metrics.observe

        def on_batch(rows: int, requests: int, waits: list) -> None:
            observe("mlctl_batch_rows", labels, rows, BATCH_BUCKETS)
            observe("mlctl_batch_requests", labels, requests, BATCH_BUCKETS)
            for w in waits:
                observe("mlctl_batch_wait_seconds", labels, w, WAIT_BUCKETS)
        return on_batch

    # -- hot reload -------------------------------------------------------------------------
    def _install_threadsafe(self, slot: ModelSlot) -> None:
        self.loop.call_soon_threadsafe(self.install_primary, slot)

    def install_primary(self, slot: ModelSlot) -> None:
        """Swap one reference; requests holding the old slot finish on it."""
        old = self.primary
        slot.alias = old.alias
        self._attach_batcher(slot)
        self.primary = slot
        old.extra["batcher"].retire()
        self.metrics.inc("mlctl_model_reloads_total")
        self._publish_model_info()

    def _publish_model_info(self) -> None:
        self.metrics.gauges = {k: v for k, v in self.metrics.gauges.items() if k[0] != "mlctl_model_info"}
        for slot in self.slots():
            labels = (("model", slot.name), ("version", slot.version), ("role", slot.role))
            self.metrics.set("mlctl_model_info", labels, 1)

    # -- routing ----------------------------------------------------------------------------
    def pick(self, request_id: str, given: bool) -> ModelSlot:
        """The canary for PERCENT% of requests: by a hash of the request id when the client
        gave one (the same id always lands on the same version), else at random."""
        if self.canary is None:
            return self.primary
        if given:
            point = (xxhash.xxh64_intdigest(request_id.encode()) % 10000) / 100.0
        else:
            point = random.random() * 100.0
        return self.canary if point < self.canary_percent else self.primary

    def input_for(self, slot: ModelSlot, source: ModelSlot, X):
        return X if slot is source else reorder_for(source, slot, X)

    # -- shadow -----------------------------------------------------------------------------
    def start_shadow(self, request_id: str, source: ModelSlot, X) -> None:
        """Fire and forget, after the primary answer was sent; dropped when backed up."""
        if self.shadow_inflight >= SHADOW_BACKLOG:
            self.metrics.inc("mlctl_shadow_dropped_total")
            return
        self.shadow_inflight += 1
        self.loop.create_task(self._shadow_call(request_id, source, X))

    async def _shadow_call(self, request_id: str, source: ModelSlot, X) -> None:
        slot = self.shadow
        labels = (("model", slot.name), ("version", slot.version), ("role", "shadow"))
        try:
            Xs = self.input_for(slot, source, X)
            preds = await slot.extra["batcher"].submit(Xs, len(Xs))
            self.metrics.inc("mlctl_predictions_total", labels, len(preds))
            if self.log:
                self.log.put(request_id, slot, Xs, preds)
                self.metrics.inc("mlctl_prediction_log_rows_total", (), len(preds))
        except Exception:
            self.metrics.inc("mlctl_model_errors_total", labels)
        finally:
            self.shadow_inflight -= 1

    # -- metrics publishing -----------------------------------------------------------------
    def _publisher(self) -> None:
        while not self._stop_publish.wait(1.0):
            self._publish_now()

    def refresh_gauges(self) -> None:
        if self.log:
            self.metrics.set("mlctl_prediction_log_pending", (), self.log.pending())

    def _publish_now(self) -> None:
        if self.run_dir is None:
            return
        self.refresh_gauges()
        snapshot = self.metrics.snapshot()
        if snapshot == self._published:
            return  # an idle server writes nothing
        try:
            publish(snapshot, self.run_dir, self.worker)
            self._published = snapshot
        except OSError:
            pass  # the run folder went away with a stopping server

    def describe(self) -> dict:
        p = self.primary
        return {
            "name": p.name, "version": p.version, "alias": p.alias, "signature": p.signature,
            "model": p.describe(),
            "canary": {**self.canary.describe(), "percent": self.canary_percent} if self.canary else None,
            "shadow": self.shadow.describe() if self.shadow else None,
            "batching": {"max_batch_rows": self.settings.max_batch_rows,
                         "batch_latency_ms": self.settings.batch_latency_ms},
            "log_predictions": self.log is not None,
            "features": self.features.describe() if self.features else None,
            "validate": self.gate.describe() if self.gate else None,
            "worker": {"index": self.worker, "pid": os.getpid(), "started": self.started},
        }
