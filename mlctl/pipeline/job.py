"""What the stage runner hands an executor (a Job) and gets back (an Attempt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Job:
    stage: object  # spec.Stage
    env: dict[str, str]
    log_path: Path
    on_line: Callable[[str], None] | None  # None: nobody shows the lines live


@dataclass
class Attempt:
    exit_code: int
    tail: list[str] = field(default_factory=list)
    node: str = ""  # where the command ran (a host name, or Ray's node address and id)
