"""`mlctl serve`: load and verify the models, bind, fork the workers, supervise them.

The parent process loads every model before binding (so a bad reference or a corrupt
artifact is an error on the command line, not a crashing worker), binds the socket, records
the deployment in the registry, then forks ``--workers`` processes that share the port
(one listening socket each on Linux, so the kernel spreads connections over them; see
net.bind_listeners) and the already-loaded models (copy-on-write, so startup does not
grow with N). Each worker runs uvicorn with its own event loop, batcher, alias watcher and
prediction-log writer.
The parent restarts a worker that dies, and on SIGTERM/SIGINT asks every worker to drain
(uvicorn's graceful shutdown, then the prediction log is flushed), waits, removes the
deployment record and exits 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mlctl.connlimits import uvicorn_options
from mlctl.net import bind_listeners, host_check
from mlctl.errors import MlctlError
from mlctl.store.atomic import process_alive

GRACE_S = 30.0
CRASH_WINDOW_S = 5.0
MAX_QUICK_CRASHES = 5


@dataclass
class Loaded:
    primary: object
    canary: object | None = None
    shadow: object | None = None
    provider: object | None = None
    features: object | None = None
    gate: object | None = None  # row_gate.RowGate with --validate


def load_models(repo, settings, provider=None) -> Loaded:
    """Resolve and load primary, canary and shadow (hash-verified); errors are MlctlErrors."""
    from mlctl.serving.models import RegistryProvider, check_compatible, limit_native_threads, quiet_model_warnings

    limit_native_threads()
    quiet_model_warnings()
    provider = provider or RegistryProvider(repo)
    primary = provider.load(provider.resolve(settings.model), "primary")
    loaded = Loaded(primary, provider=provider)
    if settings.canary:
        loaded.canary = provider.load(provider.resolve(settings.canary[0]), "canary")
        check_compatible(primary, loaded.canary)
    if settings.shadow:
        loaded.shadow = provider.load(provider.resolve(settings.shadow), "shadow")
        check_compatible(primary, loaded.shadow)
    if settings.features:
        from mlctl.serving.features import FeatureEnricher

        loaded.features = FeatureEnricher(repo, settings.features)
        loaded.features.check_model(primary.columns)
    if settings.row_suite:
        from mlctl.serving.row_gate import load_gate

        loaded.gate = load_gate(repo, settings.row_suite, primary.columns.names)
    return loaded


def bind(host: str, port: int, workers: int) -> list[socket.socket]:
    """The listening socket of each worker (the same one for all where the port cannot be
    shared; see net.bind_listeners)."""
    return bind_listeners(host, port, workers, backlog=2048)


def serve(repo, settings, loaded: Loaded, on_ready: Callable[[dict], None] | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    _preload_server_modules()  # once, before forking: workers inherit them
    socks = bind(settings.host, settings.port, settings.workers)
    run_dir = Path(repo.cache_dir) / "serve" / str(os.getpid())
    _remove_dead_run_dirs(run_dir.parent)
    run_dir.mkdir(parents=True, exist_ok=True)
    from mlctl.serving import deployment

    record = deployment.record(repo, settings, loaded.primary, socks[0].getsockname()[1])
    supervisor = Supervisor(repo, settings, loaded, socks, run_dir, record)
    try:
        supervisor.start_all()
        if on_ready:
            on_ready(record)
        return supervisor.wait()
    finally:
        supervisor.stop_all()
        for sock in socks:
            sock.close()
        _quietly(deployment.remove, repo, record)
        shutil.rmtree(run_dir, ignore_errors=True)


def _remove_dead_run_dirs(folder: Path) -> None:
    """Counters left by servers that were killed outright (their pid is gone)."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name.isdigit() and not process_alive(int(entry.name)):
            shutil.rmtree(entry, ignore_errors=True)


def _preload_server_modules() -> None:
    import uvicorn  # noqa: F401
    from uvicorn.loops import auto  # noqa: F401
    from uvicorn.protocols.http import auto as http_auto  # noqa: F401

    from mlctl.serving import app, routes, state  # noqa: F401
    if "uvloop" not in sys.modules:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            pass


def _quietly(fn, *args) -> None:
    """Shutdown bookkeeping must not mask the exit; a leftover record shows as stale."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001
        sys.stderr.write(f"mlctl: warning: {exc}\n")


class Supervisor:
    def __init__(self, repo, settings, loaded: Loaded, socks: list, run_dir: Path, record: dict):
        """``socks[i]``: worker i's listening socket, kept open here while it restarts, so
        the connections the kernel gives it wait in its backlog instead of failing."""
        self.repo, self.settings, self.loaded = repo, settings, loaded
        self.socks, self.run_dir, self.record = socks, run_dir, record
        self.alias_stamp = None
        self.next_alias_check = 0.0
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (worker index, started)
        self.stopping = False
        self.quick_crashes = 0

    def start_all(self) -> None:
        import gc

        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        gc.collect()
        gc.freeze()  # the loaded models never become garbage: keep the collector (and
        # its copy-on-write page faults in the workers) off them
        for index in range(self.settings.workers):
            self._spawn(index)

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def _spawn(self, index: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the CLI
            code = 1
            try:
                _close_others(self.socks, index)
                code = run_worker(self.repo, self.settings, self.loaded, self.socks[index], self.run_dir, index,
                                  parent)
            except BaseException as exc:  # noqa: BLE001 - report and leave, the parent restarts us
                sys.stderr.write(f"mlctl serve: worker {index} failed: {type(exc).__name__}: {exc}\n")
            finally:
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = (index, time.monotonic())

    def wait(self) -> int:
        while not self.stopping:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 3
            if pid == 0:
                self._follow_alias()
                time.sleep(0.1)
                continue
            code = self._reap(pid, status)
            if code is not None:
                return code
        return 0

    def _follow_alias(self) -> None:
        """Keep the deployment record's version where the alias points (the workers swap
        models themselves; this is only the record)."""
        provider, ref = self.loaded.provider, self.settings.model
        if provider is None or not ref.follows_alias or time.monotonic() < self.next_alias_check:
            return
        self.next_alias_check = time.monotonic() + self.settings.reload_interval_s
        stamp = provider.alias_stamp(ref)
        if stamp == self.alias_stamp:
            return
        self.alias_stamp = stamp
        try:
            version = provider.resolve(ref)["version"]
            if version != self.record["version"]:
                from mlctl.serving import deployment

                deployment.update_version(self.repo, self.record, version)
        except Exception:  # noqa: BLE001 - the workers report reload problems themselves
            self.alias_stamp = None

    def _reap(self, pid: int, status: int) -> int | None:
        index, started = self.children.pop(pid, (None, 0.0))
        if index is None or self.stopping:
            return None
        quick = time.monotonic() - started < CRASH_WINDOW_S
        self.quick_crashes = self.quick_crashes + 1 if quick else 0
        if self.quick_crashes >= MAX_QUICK_CRASHES:
            sys.stderr.write("mlctl: error: workers keep crashing at startup; stopping\n")
            return 3
        sys.stderr.write(f"mlctl serve: worker {index} (pid {pid}) exited ({_describe(status)}); restarting\n")
        self._spawn(index)
        return None

    def stop_all(self) -> None:
        self.stopping = True
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S + 5
        while self.children and time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in list(self.children):
            _kill(pid, signal.SIGKILL)


def _close_others(socks: list, index: int) -> None:
    """A worker keeps only its own listening socket. A sibling's socket it inherited and
    never accepts on would stay in the port's group after that sibling and the parent were
    gone, and the kernel would go on giving it connections that nobody answers."""
    mine = socks[index]
    for sock in socks:
        if sock is not mine:
            sock.close()


def run_worker(repo, settings, loaded: Loaded, sock, run_dir: Path, index: int, parent: int) -> int:
    """One worker process: uvicorn on its listening socket with this worker's state."""
    import uvicorn

    from mlctl.serving.affinity import pin_worker
    from mlctl.serving.app import ServingApp
    from mlctl.serving.state import ServerState

    pin_worker(index)  # before any thread starts: they inherit the core
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent(parent)
    writer_factory = None
    if settings.log_predictions:
        from mlctl.predlog.api import PredictionLogWriter

        name = loaded.primary.name
        # never flushes on its own: the log thread decides (mlctl/serving/logqueue.py)
        writer_factory = lambda: PredictionLogWriter(repo, name, max_rows=1 << 62, max_age=float("inf"))  # noqa: E731
    state = ServerState(settings, loaded.primary, loaded.canary, loaded.shadow, loaded.provider,
                        writer_factory, run_dir, index, loaded.features, loaded.gate)
    app = ServingApp(state, host_check(settings.host, sock.getsockname()[1]))
    limits = uvicorn_options(settings.max_connections, settings.header_timeout_s, settings.keep_alive_s)
    # proxy_headers off: nothing here reads the client's address, and the middleware that
    # rewrites it from X-Forwarded-For was one more coroutine layer on every request
    config = uvicorn.Config(app, lifespan="on", access_log=False, log_level="warning", server_header=False,
                            date_header=False, proxy_headers=False, timeout_graceful_shutdown=GRACE_S, backlog=2048, **limits)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else 1


def _die_with_parent(parent: int) -> None:
    """Linux: a worker gets SIGTERM (and drains) if the supervisor is killed outright, so
    no orphan keeps the port after a `kill -9` of `mlctl serve`."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"code {os.WEXITSTATUS(status)}"


__all__ = ["load_models", "serve", "bind", "Loaded", "MlctlError"]
