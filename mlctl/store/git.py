"""The few git facts mlctl needs, through the git command (no library dependency)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlctl.errors import UsageError


def _git(root: str | os.PathLike, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, check=False,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="install git to use revisions") from None
    if check and proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"git {' '.join(args[:2])}: {msg[-1] if msg else 'failed'}")
    return proc


def run(root: str | os.PathLike, *args: str) -> bytes:
    """stdout of a git command that must succeed (exit 2 naming git's complaint otherwise)."""
    return _git(root, *args).stdout


def toplevel(path: str | os.PathLike) -> Path | None:
    proc = _git(path, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip())


def head_commit(root: str | os.PathLike) -> str | None:
    proc = _git(root, "rev-parse", "--verify", "-q", "HEAD", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def resolve_rev(root: str | os.PathLike, rev: str) -> str:
    proc = _git(root, "rev-parse", "--verify", "-q", rev + "^{commit}", check=False)
    if proc.returncode != 0:
        raise UsageError(f"unknown git revision: {rev}")
    return proc.stdout.decode().strip()
