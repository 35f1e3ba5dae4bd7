"""A numeric column's finite values in sorted order, as the statistics read them.

The statistics need only four things of a sorted sample: its size, the values at given
ranks, how many values lie below given edges, and sums over a range of ranks. Two
samples answer them: ``ArraySample`` (a sorted numpy array, the in-memory path) and
``RunSample`` (sorted distinct values with their counts, streamed in batches: from DuckDB
under ``--memory``, so a column never has to fit in memory). Both answer every question
with the same arithmetic on the same numbers, so both paths give the same results bit for
bit: ranks and counts are integers, and sums go through ``BlockSum``, which adds the
values in the same fixed blocks whatever pieces they arrive in.
"""

from __future__ import annotations

from typing import Callable, Iterator

BLOCK = 1 << 16      # values per block of a sum: numpy's pairwise sum inside, blocks added pairwise
EXPAND = 1 << 20     # at most this many values expanded from runs at a time


class BlockSum:
    """A sum of values fed in any pieces, computed as numpy's pairwise sum of each block of
    ``BLOCK`` consecutive values, then the pairwise sum of the block sums. The result
    depends only on the sequence of values, never on how it was cut into pieces."""

    def __init__(self):
        import numpy as np

        self._buffer = np.empty(BLOCK)
        self._filled = 0
        self._blocks: list[float] = []

    def add(self, values) -> None:
        import numpy as np

        start = 0
        if self._filled == 0 and values.dtype == np.float64:  # whole blocks summed where they lie: the same sum
            while len(values) - start >= BLOCK:
                self._blocks.append(np.add.reduce(values[start:start + BLOCK]))
                start += BLOCK
        while start < len(values):
            take = min(BLOCK - self._filled, len(values) - start)
            self._buffer[self._filled:self._filled + take] = values[start:start + take]
            self._filled += take
            start += take
            if self._filled == BLOCK:
                self._blocks.append(np.add.reduce(self._buffer))
                self._filled = 0

    def total(self) -> float:
        import numpy as np

        blocks = self._blocks + ([np.add.reduce(self._buffer[:self._filled])] if self._filled else [])
        return float(np.add.reduce(np.array(blocks))) if blocks else 0.0


def _summed(pieces, center) -> float:
    import numpy as np

    summer, scratch = BlockSum(), None
    for piece in pieces:
        if center is None or piece.dtype != np.float64:  # (float32 would subtract in float32, as before)
            summer.add(piece if center is None else (piece - center) * (piece - center))
            continue
        if scratch is None or len(scratch) < len(piece):  # one buffer for every piece's squared deviations
            scratch = np.empty(len(piece))
        deviations = np.subtract(piece, center, out=scratch[:len(piece)])
        summer.add(np.multiply(deviations, deviations, out=deviations))
    return summer.total()


class ArraySample:
    """A sorted float64 numpy array. ``bounded``: held under a memory cap, where ks must not
    hand it to scipy (whose copies take about seven arrays the size of both samples): ks
    streams its runs instead (``positioned``), as it does a RunSample's."""

    def __init__(self, values, bounded: bool = False):
        self.values, self.bounded = values, bounded
        self._distinct: int | None = None

    def __len__(self) -> int:
        return len(self.values)

    def take(self, ranks):
        return self.values[ranks]

    def searchsorted(self, edges, side: str):
        import numpy as np

        return np.searchsorted(self.values, edges, side=side)

    def total(self, lo: int, hi: int, center: float | None = None) -> float:
        """The sum of values[lo:hi], or of their squared deviations from ``center``."""
        values = self.values[lo:hi]
        return _summed((values[i:i + EXPAND] for i in range(0, len(values), EXPAND)), center)

    def distinct(self) -> int:
        import numpy as np

        if self._distinct is None:  # asked several times a column: a pass over 100M values costs a second
            values = self.values
            self._distinct = int(np.count_nonzero(values[1:] != values[:-1])) + 1 if len(values) else 0
        return self._distinct

    def runs(self):
        """(distinct values, their counts) as two arrays."""
        import numpy as np

        if len(self.values) == 0:
            return np.empty(0), np.empty(0, np.int64)
        starts = np.flatnonzero(np.concatenate(([True], self.values[1:] != self.values[:-1])))
        return self.values[starts], np.diff(np.append(starts, len(self.values)))

    def positioned(self):
        """As ``RunSample.positioned``: the runs of EXPAND values at a time, never all at once."""
        chunks = (self.values[i:i + EXPAND] for i in range(0, len(self.values), EXPAND))
        return positioned(runs_of(chunks))


class RunSample:
    """Sorted distinct values with counts, read in batches from ``batches()`` (a fresh
    iterator of (values, counts) array pairs per call, values strictly increasing across
    batches). ``distinct`` None: counted in one pass when first asked."""

    def __init__(self, size: int, distinct: int | None, batches: Callable[[], Iterator[tuple]]):
        self.size, self._distinct, self._batches = size, distinct, batches
        self._totals: dict = {}  # each pass over a large column costs seconds: the std needs the mean twice

    def __len__(self) -> int:
        return self.size

    def distinct(self) -> int:
        if self._distinct is None:
            self._distinct = sum(len(values) for values, _ in self._batches())
        return self._distinct

    def positioned(self):
        return positioned(self._batches())

    def take(self, ranks):
        import numpy as np

        ranks = np.asarray(ranks, dtype=np.int64)
        out = np.empty(len(ranks))
        order = np.argsort(ranks, kind="stable")
        wanted, done = ranks[order], 0
        for values, counts, starts in self.positioned():
            if done == len(wanted):
                break
            last = starts[-1] + counts[-1]
            upto = done + int(np.searchsorted(wanted[done:], last, side="left"))
            run = np.searchsorted(starts, wanted[done:upto], side="right") - 1
            out[order[done:upto]] = values[run]
            done = upto
        return out

    def searchsorted(self, edges, side: str):
        """How many values are below (``left``) or at most (``right``) each edge."""
        import numpy as np

        edges = np.asarray(edges, dtype=np.float64)
        found = np.zeros(len(edges), dtype=np.int64)
        for values, counts, starts in self.positioned():
            runs = np.searchsorted(values, edges, side=side)
            inside = runs > 0
            found[inside] = starts[runs[inside] - 1] + counts[runs[inside] - 1]
        return found

    def total(self, lo: int, hi: int, center: float | None = None) -> float:
        key = (lo, hi, center)
        if key not in self._totals:
            self._totals[key] = _summed(self._expanded(lo, hi), center)
        return self._totals[key]

    def _expanded(self, lo: int, hi: int):
        """The values of ranks lo..hi-1, repeated per their counts, in pieces of at most EXPAND."""
        import numpy as np

        for values, counts, starts in self.positioned():
            ends = starts + counts
            keep = (ends > lo) & (starts < hi)
            if not keep.any():
                if len(starts) and starts[0] >= hi:
                    return
                continue
            values, counts = values[keep], np.minimum(ends[keep], hi) - np.maximum(starts[keep], lo)
            yield from _repeat_in_pieces(values, counts)

    def runs(self):
        import numpy as np

        pairs = list(self._batches())
        if not pairs:
            return np.empty(0), np.empty(0, np.int64)
        return np.concatenate([v for v, _ in pairs]), np.concatenate([c for _, c in pairs])


def positioned(batches):
    """(values, counts, rank of the first value of each run) per batch of runs."""
    import numpy as np

    before = 0
    for values, counts in batches:
        ends = np.cumsum(counts)
        yield values, counts, before + ends - counts
        before += int(ends[-1]) if len(ends) else 0


def runs_of(chunks):
    """Sorted values, given in consecutive chunks, as batches of runs (distinct values,
    counts); a run cut by a chunk boundary is carried into the next batch (runs must be
    strictly increasing across batches, a value's whole count in one run)."""
    import numpy as np

    carry_value, carry_count = None, 0
    for values in chunks:
        if len(values) == 0:
            continue
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        runs, counts = values[starts], np.diff(np.append(starts, len(values)))
        if carry_value is not None and runs[0] == carry_value:
            counts[0] += carry_count
        elif carry_value is not None:
            yield np.array([carry_value]), np.array([carry_count])
        carry_value, carry_count = runs[-1], int(counts[-1])
        if len(runs) > 1:
            yield runs[:-1], counts[:-1]
    if carry_value is not None:
        yield np.array([carry_value]), np.array([carry_count])


def _repeat_in_pieces(values, counts):
    """np.repeat(values, counts) yielded in pieces of at most EXPAND values (a run of 100M
    equal values is never expanded at once)."""
    import numpy as np

    ends = np.cumsum(counts)
    i, done = 0, 0
    while i < len(values):
        j = max(int(np.searchsorted(ends, done + EXPAND, side="right")), i + 1)
        if j == i + 1 and counts[i] > EXPAND:
            left = int(counts[i])
            while left:
                n = min(left, EXPAND)
                yield np.full(n, values[i])
                left -= n
        else:
            yield np.repeat(values[i:j], counts[i:j])
        done, i = int(ends[j - 1]), j


def as_sample(values):
    """A sample as the statistics take it: a numpy array (sorted) is wrapped."""
    return values if isinstance(values, (ArraySample, RunSample)) else ArraySample(values)
