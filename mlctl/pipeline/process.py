"""A stage's command as a child process: its own process group, output to a log file and
to a line callback, and a stop that escalates SIGINT -> SIGTERM -> SIGKILL.

Children get their own session so a terminal's Ctrl-C reaches mlctl alone; mlctl then
forwards it to every stage, waits for them to exit, and only then returns.

A process that cannot forward anything (mlctl or a Ray worker killed with SIGKILL: the
forced cancel of a Ray task is one) would leave its command running in that session, still
writing outputs a rerun is about to write. So each command has a guard: a tiny interpreter,
in a session of its own, that polls every 0.2 s whether its parent is still the one that
started it, kills the command's process group when not, and exits when the group is empty.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

TAIL_LINES = 20
_SPLIT = re.compile(rb"\r\n|\r|\n")
GUARD = """import os, sys, time
parent, group = int(sys.argv[1]), int(sys.argv[2])
while os.getppid() == parent:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        sys.exit(0)
    except PermissionError:
        pass
    time.sleep(0.2)
try:
    os.killpg(group, 9)
except OSError:
    pass
"""


class StageProcess:
    def __init__(self, cmd: str, cwd: Path, env: dict[str, str], log_path: Path,
                 on_line: Callable[[str], None] | None = None):
        self.cmd, self.cwd, self.env, self.log_path = cmd, cwd, env, log_path
        self.on_line = on_line or (lambda line: None)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._proc: subprocess.Popen | None = None
        self._stopping = False

    def run(self) -> int:
        """Run to completion (or until stopped); returns the exit code (negative: signal)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"$ {self.cmd}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                ["/bin/sh", "-c", self.cmd], cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            guard = _guard(self._proc.pid)
            try:
                if self._stopping:
                    self.signal(signal.SIGINT)
                self._pump(self._proc.stdout.fileno(), log)
                self._proc.stdout.close()
                code = self._proc.wait()
            finally:
                guard.kill()
                guard.wait()
            log.write(f"[exit code {code}]\n".encode())
        return code

    def _pump(self, fd: int, log) -> None:
        pending = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            parts = _SPLIT.split(pending + chunk)
            pending = parts.pop()
            for part in parts:
                self._line(part)
        if pending:
            self._line(pending)

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip()
        if text:
            self.tail.append(text)
            self.on_line(text)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the stage's whole process group (its command and children)."""
        self._stopping = True
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _guard(group: int) -> subprocess.Popen:
    """Start the command's guard (see the module's text); -S: no site, ~10 ms."""
    return subprocess.Popen([sys.executable, "-S", "-c", GUARD, str(os.getpid()), str(group)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
