"""Abbreviated ids, as git abbreviates hashes: the shortest prefix (at least ``MIN_LENGTH``
characters) that no other known id shares, so a shortened id can always be pasted back.

Runs started in the same millisecond (a sweep) share their first 10 characters; a fixed
cut would show them alike. Only an id's two neighbours in sorted order can share a longer
prefix with it than any other id, so ``known`` may be just those neighbours.
"""

from __future__ import annotations

import bisect
from typing import Iterable

MIN_LENGTH = 10


def short_ids(ids: Iterable[str], known: Iterable[str] = (), minimum: int = MIN_LENGTH) -> dict[str, str]:
    """id -> its shortest prefix unique among ``ids`` and ``known``."""
    wanted = list(dict.fromkeys(ids))
    every = sorted(set(wanted) | set(known))
    return {i: i[:_length(i, every, minimum)] for i in wanted}


def _length(one: str, every: list[str], minimum: int) -> int:
    at = bisect.bisect_left(every, one)
    shared = 0
    for neighbour in (every[at - 1] if at > 0 else None, every[at + 1] if at + 1 < len(every) else None):
        if neighbour is not None:
            shared = max(shared, _common(one, neighbour))
    return min(len(one), max(minimum, shared + 1))


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
