"""Hot reload: follow NAME@ALIAS and swap the primary model when the alias moves.

Each worker runs one watcher thread. Polling costs one stat() per interval; only when the
alias ref's (mtime, size, inode) changes is the registry asked where the alias points.
A new version is loaded (hash-verified) on the watcher thread, then handed to the event
loop, which swaps one reference: requests that already picked the old slot finish on the
old model, new requests get the new one. A failed load keeps the old model serving and is
retried on the next poll.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable


class AliasWatcher:
    def __init__(self, provider, ref, current_version: Callable[[], int],
                 install: Callable[[object], None], interval: float = 1.0,
                 on_error: Callable[[str], None] | None = None):
        self.provider = provider
        self.ref = ref
        self.current_version = current_version
        self.install = install
        self.interval = interval
        self.on_error = on_error
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mlctl-reload", daemon=True)
        self._last_stamp = None
        self._failed_version = None

    def start(self) -> None:
        self._last_stamp = self.provider.alias_stamp(self.ref)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def _run(self) -> None:
        self.check(force=True)  # a restarted worker may hold a version the alias has left
        while not self.stop_event.wait(self.interval):
            self.check()

    def check(self, force: bool = False) -> bool:
        """Swap if the alias moved; True when a new version was installed."""
        stamp = self.provider.alias_stamp(self.ref)
        if stamp == self._last_stamp and not force and self._failed_version is None:
            return False
        self._last_stamp = stamp
        try:
            info = self.provider.resolve(self.ref)
            if info["version"] == self.current_version():
                self._failed_version = None
                return False
            slot = self.provider.load(info, "primary")
        except Exception as exc:  # keep serving the old model; say why once per version
            self._report(exc)
            return False
        self._failed_version = None
        self.install(slot)
        return True

    def _report(self, exc: Exception) -> None:
        key = str(exc)
        if key != self._failed_version:
            message = f"hot reload of {self.ref} failed, still serving version " \
                      f"{self.current_version()}: {getattr(exc, 'message', exc)}"
            sys.stderr.write(f"mlctl: warning: {message}\n")
            if self.on_error:
                self.on_error(message)
        self._failed_version = key
