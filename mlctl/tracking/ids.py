"""Run ids: ULIDs (48-bit millisecond time + 80 random bits, Crockford base32).

They sort by creation time as text, and 80 random bits make a collision between two
machines practically impossible, so runs pulled from a remote never clash with local
ones. Within one process ids are strictly increasing even inside one millisecond.
"""

from __future__ import annotations

import os
import re
import threading
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LEN = 26
ID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
PREFIX_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{1,26}$")
_RANDOM_MAX = (1 << 80) - 1

_lock = threading.Lock()
_last = {"ms": -1, "rand": 0}


def new_id(now: float | None = None) -> str:
    """A new id for the current time, or for ``now`` (then without the in-process
    ordering guarantee, which only holds for the clock)."""
    if now is not None:
        return encode((int(now * 1000) << 80) | int.from_bytes(os.urandom(10), "big"))
    with _lock:
        ms = int(time.time() * 1000)
        if ms <= _last["ms"] and _last["rand"] < _RANDOM_MAX:
            ms, rand = _last["ms"], _last["rand"] + 1  # monotonic within the process
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last["ms"], _last["rand"] = ms, rand
    return encode((ms << 80) | rand)


def encode(value: int) -> str:
    chars = []
    for _ in range(ID_LEN):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def timestamp_of(run_id: str) -> float:
    """The creation time (seconds) encoded in an id."""
    value = 0
    for ch in run_id:
        value = value * 32 + ALPHABET.index(ch)
    return (value >> 80) / 1000.0


def is_run_id(text: object) -> bool:
    return isinstance(text, str) and bool(ID_RE.match(text))


def normalize_prefix(text: str) -> str | None:
    """An id or id prefix as stored (upper case), or None when it cannot be one."""
    upper = text.strip().upper()
    return upper if PREFIX_RE.match(upper) else None
