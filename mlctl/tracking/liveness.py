"""Is a running run's process still alive? A flock held by the owning process.

The process that owns a running run holds an exclusive flock on
``.mlctl/locks/runs/<id>.lock`` from before the run row exists until after it is
finished. flock dies with its process, so a run whose lock can be taken (or whose lock
file is gone) while its row still says ``running`` was killed (SIGKILL, OOM, power):
readers mark it ``killed``, ending at its last write. Everything it flushed is kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading

from mlctl.store.lock import FileLock

_held: dict[str, FileLock] = {}
_held_lock = threading.Lock()


def lock_path(repo, run_id: str):
    return repo.dot / "locks" / "runs" / f"{run_id}.lock"


def hold(repo, run_id: str) -> bool:
    """Take the run's liveness lock for this process; False when another process has it."""
    lock = FileLock(lock_path(repo, run_id), timeout=0.0, what=f"run {run_id}")
    if not lock.try_acquire():
        return False
    with _held_lock:
        _held[run_id] = lock
    return True


def holds(run_id: str) -> bool:
    return run_id in _held


def release(repo, run_id: str) -> None:
    """Drop the lock after the run's final state is committed, and its file with it."""
    with _held_lock:
        lock = _held.pop(run_id, None)
    if lock is None:
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock.path)
    lock.release()


def is_alive(repo, run_id: str) -> bool:
    if run_id in _held:
        return True
    try:
        fd = os.open(lock_path(repo, run_id), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we might have taken
    return False


def reap(db, repo) -> int:
    """Mark running runs whose owner is gone as killed; returns how many."""
    with db.mutex:
        running = [r[0] for r in db.conn.execute("SELECT id FROM runs WHERE status = 'running'")]
    dead = [run_id for run_id in running if not is_alive(repo, run_id)]
    if not dead:
        return 0
    with db.write() as conn:
        for run_id in dead:
            # conditional: a run that finished since we looked keeps its real status
            conn.execute(
                "UPDATE runs SET status = 'killed', end_time = COALESCE(updated, start_time) "
                "WHERE id = ? AND status = 'running'", (run_id,))
    return len(dead)


if hasattr(os, "register_at_fork"):
    # a forked child must not believe it owns its parent's runs
    os.register_at_fork(after_in_child=lambda: _held.clear())
