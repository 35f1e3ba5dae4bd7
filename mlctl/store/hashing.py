"""Content hashes: xxh3-128, written as 32 lowercase hex digits."""

from __future__ import annotations

import os
import re

import xxhash

HASH_LEN = 32
HASH_RE = re.compile(r"[0-9a-f]{32}")  # fullmatch: "$" would let a trailing newline through
CHUNK = 1 << 20


def new_hasher():
    return xxhash.xxh3_128()


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def hash_file(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """Hash a file of any size in constant memory."""
    h = xxhash.xxh3_128()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def is_hash(value: object) -> bool:
    return isinstance(value, str) and bool(HASH_RE.fullmatch(value))


def copy_hashed(src, out, chunk: int = CHUNK) -> tuple[str, int]:
    """Copy ``src`` to ``out`` in one pass while hashing; returns (hash, size)."""
    h = xxhash.xxh3_128()
    size = 0
    while True:
        block = src.read(chunk)
        if not block:
            break
        h.update(block)
        out.write(block)
        size += len(block)
    return h.hexdigest(), size
