"""Stage logs under ``.mlctl/logs/pipeline/<run folder>/<stage>.log``.

One folder per `pipeline run` (named by its start time, so they sort), the newest
``pipeline.keep_logs`` (default 20) kept. Logs are rebuildable history, not store data:
they are never pushed, and gc leaves them alone.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from mlctl.store.repo import Repo

DEFAULT_KEEP = 20


def logs_root(repo: Repo) -> Path:
    return repo.dot / "logs" / "pipeline"


def new_run_dir(repo: Repo) -> Path:
    """A fresh folder for this run's logs; the oldest beyond the keep limit are removed."""
    root = logs_root(repo)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    folder = root / f"{stamp}-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    prune(repo, keep=_keep(repo))
    return folder


def _keep(repo: Repo) -> int:
    value = repo.config.get("pipeline.keep_logs")
    return int(value) if value is not None else DEFAULT_KEEP


def run_dirs(repo: Repo) -> list[Path]:
    """Run folders, newest first."""
    root = logs_root(repo)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)


def prune(repo: Repo, keep: int) -> None:
    for folder in run_dirs(repo)[keep:]:
        shutil.rmtree(folder, ignore_errors=True)


def latest_log(repo: Repo, stage: str) -> Path | None:
    """The newest log of ``stage`` (the last time it ran)."""
    for folder in run_dirs(repo):
        path = folder / f"{stage}.log"
        if path.is_file():
            return path
    return None


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of a log, read from the end (logs may be large)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64 * 1024))
        data = f.read()
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


def stage_log(repo: Repo, stage: str, lines: int | None = None) -> dict:
    """The latest log of a stage: {"stage", "path", "lines"}; NotFoundError when it never ran."""
    from mlctl.errors import NotFoundError
    from mlctl.pipeline.spec import is_stage_name

    if not is_stage_name(stage):
        raise NotFoundError(f"no stage named {stage!r}")
    path = latest_log(repo, stage)
    if path is None:
        raise NotFoundError(f"no log for stage {stage}: it has not run in this repository",
                            hint="logs are kept for the last runs only (pipeline.keep_logs)")
    text = tail(path, lines) if lines else path.read_text(encoding="utf-8", errors="replace").splitlines()
    return {"stage": stage, "path": os.path.relpath(path, repo.root), "lines": text}
