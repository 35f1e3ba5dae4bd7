"""The content-addressed object store: ``objects/ab/cdef...`` keyed by xxh3-128.

Objects are written once (temp file, fsync, rename) and never modified. Reads that feed
the workspace or a model verify the content against the name; ``verify=False`` is the
opt-out for hot paths whose caller verifies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

from mlctl.errors import CorruptObjectError, ObjectMissingError, UsageError
from mlctl.store import hashing
from mlctl.store.atomic import fsync_dir, temp_path_for

COPY_CHUNK = 1 << 20


class ObjectStore:
    def __init__(self, root: str | os.PathLike, tmp_dir: str | os.PathLike | None = None):
        self.root = Path(root)
        self.tmp_dir = Path(tmp_dir) if tmp_dir else self.root.parent / "tmp"

    # -- naming -------------------------------------------------------------------------
    def path(self, digest: str) -> Path:
        if not hashing.is_hash(digest):
            raise UsageError(f"not an object id: {digest!r}")
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise ObjectMissingError(digest) from None

    # -- writing ------------------------------------------------------------------------
    def put_bytes(self, data: bytes, fsync: bool = True) -> str:
        digest = hashing.hash_bytes(data)
        dest = self.path(digest)
        if dest.exists():
            _touch(dest)
            return digest
        tmp = self._temp()
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        self._install(tmp, dest, fsync)
        return digest

    def put_file(self, path: str | os.PathLike, fsync: bool = True) -> tuple[str, int]:
        """Copy a file into the store while hashing it, in one streaming pass."""
        with open(path, "rb", buffering=0) as src:
            return self.put_stream(src, fsync=fsync)

    def put_stream(self, src, fsync: bool = True) -> tuple[str, int]:
        tmp = self._temp()
        try:
            with open(tmp, "wb") as out:
                digest, size = hashing.copy_hashed(src, out, COPY_CHUNK)
                if fsync:
                    out.flush()
                    os.fsync(out.fileno())
            self._install(tmp, self.path(digest), fsync)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return digest, size

    def _temp(self) -> Path:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return temp_path_for(self.tmp_dir / "object")

    def _install(self, tmp: Path, dest: Path, fsync: bool) -> None:
        if dest.exists():  # written once: an existing object is never replaced
            os.unlink(tmp)
            _touch(dest)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        if fsync:
            fsync_dir(dest.parent)

    # -- reading ------------------------------------------------------------------------
    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise ObjectMissingError(digest) from None
        if verify:
            actual = hashing.hash_bytes(data)
            if actual != digest:
                raise CorruptObjectError(digest, actual)
        return data

    def open(self, digest: str, verify: bool = True):
        """A binary reader; with ``verify`` it raises CorruptObjectError at end of file."""
        try:
            f = open(self.path(digest), "rb")
        except FileNotFoundError:
            raise ObjectMissingError(digest) from None
        return VerifyingReader(f, digest) if verify else f

    def copy_to(self, digest: str, dest: str | os.PathLike, verify: bool = True) -> None:
        """Write the object to ``dest`` atomically, verifying while copying."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(dest)
        try:
            with self.open(digest, verify=verify) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, COPY_CHUNK)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def verify(self, digest: str) -> bool:
        try:
            return hashing.hash_file(self.path(digest)) == digest
        except FileNotFoundError:
            return False

    # -- listing and removal ------------------------------------------------------------
    def iter_hashes(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(os.scandir(self.root), key=lambda e: e.name):
            if len(shard.name) != 2 or not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                digest = shard.name + entry.name
                if hashing.is_hash(digest):
                    yield digest

    def remove(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))


def _touch(path: Path) -> None:
    """Mark an object just written again as young, so gc's grace period covers it like a
    new one (its content is unchanged; only the mtime moves). Best effort: another
    user's object in a shared store may refuse."""
    with contextlib.suppress(OSError):
        os.utime(path)


class VerifyingReader:
    """Hashes what is read; a full read that does not match the name raises."""

    def __init__(self, f, digest: str):
        self._f = f
        self._digest = digest
        self._hasher = hashing.new_hasher()
        self._checked = False

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        if data:
            self._hasher.update(data)
        if n is None or n < 0 or (not data and n != 0):
            self._check()
        return data

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        actual = self._hasher.hexdigest()
        if actual != self._digest:
            raise CorruptObjectError(self._digest, actual)

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
