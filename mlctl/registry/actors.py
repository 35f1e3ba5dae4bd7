"""Who and when: every version and alias move records the time, user and host."""

from __future__ import annotations

import getpass
import os
import socket

ACTOR_ENV = "MLCTL_ACTOR"  # e.g. a CI job sets MLCTL_ACTOR="ci:$GITHUB_ACTOR"


def hostname() -> str:
    return socket.gethostname()


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid{os.getuid()}"


def actor(explicit: str | None = None) -> dict:
    name = explicit or os.environ.get(ACTOR_ENV) or f"{user()}@{hostname()}"
    return {"actor": name, "user": user(), "host": hostname(), "pid": os.getpid()}
