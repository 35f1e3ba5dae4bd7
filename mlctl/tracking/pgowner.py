"""Owner tokens on the PostgreSQL backend, and what a reader on the owner's own machine
can tell about them before the server can.

A running run's owner holds a session advisory lock (pgdb.py): the server drops it when
that session ends, which is the only liveness a reader on another machine can see. But a
SIGKILLed client's session ends only once its server backend notices the closed socket:
milliseconds on a quiet server, longer on a busy one, and never while another process
still holds a copy of the socket (or, for a lost machine, until TCP keepalive gives up).
Meanwhile the lock says "alive" for a process that is gone.

So the token also says where its process lives: the kernel's boot id and the process's
pid namespace (one pid space: ``place``), its pid and its start time. A reader in the
same place asks the kernel directly: a pid that is gone, a zombie, or a pid now held by a
process started at another time means the owner is dead, whatever the lock says. A reader
elsewhere, or a token without a place (another OS; a /proc we cannot read), keeps to the
lock. Host names are no substitute for the place: two containers may share one (host
networking) without sharing pids, and two machines may share one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re

_TOKEN = re.compile(r"^pg-[A-Za-z0-9_-]*-(?P<pid>[0-9]+)-[0-9a-f]{8}~(?P<place>[0-9a-f]{16})-(?P<start>[0-9]+)$")


def new_token() -> str:
    """A fresh owner token for this process: pg-HOST-PID-RANDOM[~PLACE-START]."""
    host = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in os.uname().nodename)[:40]
    pid = os.getpid()
    token = f"pg-{host}-{pid}-{os.urandom(4).hex()}"
    start = start_time(pid)
    if here() is not None and start is not None:
        token += f"~{here()}-{start}"
    return token


@functools.lru_cache(maxsize=1)
def here() -> str | None:
    """This process's place: a digest of the boot id and the pid namespace, or None when
    the kernel does not say (not Linux, /proc hidden)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return hashlib.blake2b(f"{boot} {namespace}".encode(), digest_size=8).hexdigest()


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None when unreadable."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the state on (the name before them may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def known_dead(token: str) -> bool:
    """True when this reader can see that the token's process is gone; False when it
    cannot tell (another place, an old token) or the process still runs."""
    match = _TOKEN.match(token)
    if match is None or match["place"] != here():
        return False
    pid = int(match["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: it exists
    fields = _stat_fields(pid)
    if fields is None:  # hidden from us (hidepid): it exists, we cannot tell which
        return False
    return fields[0] in ("Z", "X") or fields[19] != match["start"]
