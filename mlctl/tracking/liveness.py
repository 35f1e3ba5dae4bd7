"""Is a running run's process still alive? A flock held by the owning process.

Each process that owns running runs holds an exclusive flock on one file,
``.mlctl/locks/runs/<host>-<pid>-<random>.lock``, for its whole life; the run row names
that file in its ``owner`` column. flock dies with its process, so a run whose row says
``running`` but whose owner lock can be taken (or is gone) was killed (SIGKILL, OOM,
power loss): readers mark it ``killed``, ending at its last write, and keep everything
it flushed. One lock per process, not per run, keeps a 1,000-run sweep free of
per-run lock files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading

from mlctl.tracking.db import database

_mine: dict[str, tuple[str, int]] = {}  # locks folder -> (owner token, fd)
_mine_lock = threading.Lock()


def _locks_dir(repo):
    return repo.dot / "locks" / "runs"


def owner_token(repo) -> str:
    """This process's owner token for ``repo``, taking its lock on first use (on the
    PostgreSQL backend, an advisory lock held by this process's connection: pgdb.py)."""
    db = database(repo)
    if db.dialect != "sqlite":
        return db.owner_token()
    key = str(_locks_dir(repo))
    held = _mine.get(key)
    if held:
        return held[0]
    with _mine_lock:
        if key not in _mine:
            if not _mine:
                import atexit

                atexit.register(release_all)
            _mine[key] = _take(_locks_dir(repo))
        return _mine[key][0]


def _take(folder) -> tuple[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    host = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in os.uname().nodename)[:40]
    token = f"{host}-{os.getpid()}-{os.urandom(4).hex()}"
    fd = os.open(folder / f"{token}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file: nobody else can hold it
    return token, fd


def is_alive(repo, owner: str | None) -> bool:
    if not owner:
        return False
    db = database(repo)
    if db.dialect != "sqlite":
        return owner in db.alive_owners([owner])
    held = _mine.get(str(_locks_dir(repo)))
    if held and held[0] == owner:
        return True
    try:
        fd = os.open(_locks_dir(repo) / f"{owner}.lock", os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
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
        running = db.conn.execute("SELECT id, owner FROM runs WHERE status = 'running'").fetchall()
    if not running:
        return 0
    if db.dialect != "sqlite":
        alive = db.alive_owners([owner for _run, owner in running])
        dead = [(run_id, owner) for run_id, owner in running if owner not in alive]
    else:
        dead = [(run_id, owner) for run_id, owner in running if not is_alive(repo, owner)]
    if not dead:
        return 0
    with db.write() as conn:
        for run_id, owner in dead:
            # conditional: a run finished or resumed since we looked keeps its real state
            same_owner = "owner IS NULL" if owner is None else "owner = ?"
            conn.execute(
                "UPDATE runs SET status = 'killed', end_time = COALESCE(updated, start_time) "
                f"WHERE id = ? AND status = 'running' AND {same_owner}", (run_id,) if owner is None else (run_id, owner))
    for owner in {owner for _run, owner in dead if owner and db.dialect == "sqlite"}:
        _remove_dead_lock(repo, owner)
    return len(dead)


def _remove_dead_lock(repo, owner: str) -> None:
    """Remove a dead owner's lock file (tokens are never reused, so this is safe)."""
    with contextlib.suppress(OSError):
        os.unlink(_locks_dir(repo) / f"{owner}.lock")


def release_all() -> None:
    """Drop this process's locks (at exit; the OS would do it anyway)."""
    with _mine_lock:
        for folder, (token, fd) in list(_mine.items()):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, f"{token}.lock"))
            with contextlib.suppress(OSError):
                os.close(fd)
        _mine.clear()


def _after_fork_in_child() -> None:
    # the child must not keep its parent's runs alive, nor believe it owns them
    for _token, fd in _mine.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _mine.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
