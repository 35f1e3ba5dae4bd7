"""How an object lands in the workspace: copy, reflink, hardlink or symlink.

Each mode is probed once per destination filesystem (a real clone/link of a scratch file)
and falls back to copy when the filesystem can't do it; the fallback is reported, never
silent. Every object is verified against its hash before it lands: copy hashes while it
copies, the link modes hash the object first. Hardlinks and symlinks share the store's
read-only (0444) file, so an in-place edit fails instead of corrupting the store, except
for root, whom 0444 does not stop: as root, hardlink and symlink fall back to reflink (a
private copy-on-write clone) or copy, and say so.
A file replacing another lands atomically: written or linked under a temp name beside the
target, then renamed. A small file where nothing is yet is written in place (created
exclusively, after its bytes were verified); a failed write removes it, and only a kill -9
in mid-write can leave it short (as with cp): checkout's journal (data/journal.py) lets the
rerun overwrite it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

from mlctl.errors import ObjectMissingError, UsageError
from mlctl.store import hashing
from mlctl.store.atomic import temp_name, temp_path_for
from mlctl.store.fastio import check_digest, copy_verified
from mlctl.store.statcache import FileStat
from mlctl.store.tree import EXEC_MODE, LINK_MODE

MODES = ("copy", "reflink", "hardlink", "symlink")
SHARED = ("hardlink", "symlink")  # modes where the workspace file *is* the stored object
FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"unknown link mode {mode!r}", hint="use copy, reflink, hardlink or symlink")
    return mode


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class Linker:
    def __init__(self, objects, mode: str):
        self.objects = objects
        self.requested = check_mode(mode)
        self._root = str(objects.root)
        self.fallbacks: dict[int, str] = {}  # st_dev -> why the requested mode is not possible
        self._modes: dict[int, str] = {}
        self._verified: set[str] = set()
        self._lock = threading.Lock()

    # -- capability probe -------------------------------------------------------------------
    def mode_for(self, folder: Path) -> str:
        dev = os.stat(folder).st_dev
        with self._lock:
            if dev not in self._modes:
                self._modes[dev] = self._probe(folder, dev)
            return self._modes[dev]

    def _probe(self, folder: Path, dev: int) -> str:
        if self.requested == "copy":
            return "copy"
        if self.requested in SHARED and running_as_root():
            mode = "reflink" if self._works("reflink", folder) is None else "copy"
            self.fallbacks[dev] = (f"{self.requested} as root would let a write to a checked-out file change the "
                                   f"only stored copy (root ignores the read-only mode); "
                                   f"{'reflinked' if mode == 'reflink' else 'copied'} instead")
            return mode
        error = self._works(self.requested, folder)
        if error is None:
            return self.requested
        self.fallbacks[dev] = f"{self.requested} is not possible here ({error}); copied instead"
        return "copy"

    def _works(self, mode: str, folder: Path) -> str | None:
        """None when ``mode`` works from the store into ``folder``, else why not."""
        self.objects.tmp_dir.mkdir(parents=True, exist_ok=True)
        src = temp_path_for(self.objects.tmp_dir / "probe")
        dst = temp_path_for(folder / "probe")
        try:
            src.write_bytes(b"mlctl link probe\n")
            self._link(mode, src, dst)
            return None
        except OSError as exc:
            return os.strerror(exc.errno or 0)
        finally:
            for p in (src, dst):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)

    @staticmethod
    def _link(mode: str, src: Path, dst: Path) -> None:
        if mode == "hardlink":
            os.link(src, dst)
        elif mode == "symlink":
            os.symlink(src, dst)
        else:
            _reflink(src, dst)

    # -- landing one object -------------------------------------------------------------------
    def place(self, digest: str, dest: str, mode_bits: int, link: str, size: int = -1) -> FileStat | None:
        """Put verified object ``digest`` (of ``size`` bytes, when known) at ``dest``
        (replacing what is there) with ``link``; returns the landed copy's stat (None for
        a link: its stat is the store's file)."""
        if mode_bits == LINK_MODE:
            return self._place_link(digest, dest)
        if link == "copy":
            landed = self._copy_new(digest, dest, mode_bits, size)
            if landed is not None:
                return landed
        folder, name = os.path.split(dest)
        tmp = temp_name(folder, name)
        landed = None
        try:
            if link == "copy":
                landed = self._copy(digest, tmp, mode_bits, size=size)
            else:
                self._verify(digest)
                src = self.objects.path(digest)
                if link == "reflink":
                    _reflink(src, tmp, _perms(mode_bits))
                else:
                    self._link(link, src.resolve() if link == "symlink" else src, tmp)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return landed

    def _place_link(self, digest: str, dest: str) -> None:
        """A recorded symlink: its verified target text (checked by the checkout's plan,
        ``store/materialize.py: check_link_target``) linked under a temp name, then renamed over ``dest``."""
        target = self.objects.get_bytes(digest).decode("utf-8")
        folder, name = os.path.split(dest)
        tmp = temp_name(folder, name)
        try:
            os.symlink(target, tmp)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return None

    def _copy_new(self, digest: str, dest: str, mode_bits: int, size: int) -> FileStat | None:
        """Where nothing is at ``dest`` yet, a small object is written straight to it (no
        temp, no rename: a tenth of a fresh checkout's time), verified before its first
        byte; None (nothing done) when something is there or the object is big, which
        then land through a temp and a rename so no one sees a torn or unverified file."""
        try:
            return self._copy(digest, dest, mode_bits, small_only=True, size=size)
        except FileExistsError:
            return None

    def _copy(self, digest: str, tmp: str, mode_bits: int, small_only: bool = False, size: int = -1) -> FileStat | None:
        try:
            return copy_verified(self._object(digest), tmp, digest, _perms(mode_bits), small_only, size)
        except FileNotFoundError as exc:
            if exc.filename == self._object(digest):
                raise ObjectMissingError(digest) from None
            raise

    def _object(self, digest: str) -> str:
        return f"{self._root}/{digest[:2]}/{digest[2:]}"

    def _verify(self, digest: str) -> None:
        with self._lock:
            if digest in self._verified:
                return
        check_digest(self.objects_hash(digest), digest)
        with self._lock:
            self._verified.add(digest)

    def objects_hash(self, digest: str) -> str:
        try:
            return hashing.hash_file(self.objects.path(digest))
        except FileNotFoundError:
            raise ObjectMissingError(digest) from None

    # -- is a workspace file already landed the right way? ----------------------------------
    def linked_right(self, digest: str, path: str, link: str) -> bool:
        """True when ``path`` (whose content is ``digest``) is already a ``link`` of it."""
        lst = os.lstat(path)
        obj = self.objects.path(digest)
        if link == "symlink":
            return os.path.islink(path) and os.readlink(path) == str(obj.resolve())
        if os.path.islink(path):
            return False
        try:
            same_inode = os.stat(obj).st_ino == lst.st_ino and os.stat(obj).st_dev == lst.st_dev
        except FileNotFoundError:
            same_inode = False
        return same_inode if link == "hardlink" else not same_inode


def land_files(objects, requested: str, items: list) -> list[FileStat | None]:
    """A worker's task (see store/workers.py): land each (digest, dest, mode bits, link,
    size) with ``Linker.place``; returns each landed file's stat (for the stat cache)."""
    linker = Linker(objects, requested)
    out = []
    for digest, dest, mode_bits, link, size in items:
        landed = linker.place(digest, dest, mode_bits, link, size)
        if landed is None and mode_bits != LINK_MODE:
            try:
                landed = FileStat.of(os.stat(dest))
            except FileNotFoundError:  # removed by someone else already: not worth caching
                pass
        out.append(landed)
    return out


def _perms(mode_bits: int) -> int:
    return 0o777 if mode_bits == EXEC_MODE else 0o666  # the umask applies, as for any new file


def _reflink(src, dst, perms: int = 0o444) -> None:
    """A copy-on-write clone (btrfs, XFS, bcachefs, APFS-like filesystems on Linux)."""
    with open(src, "rb") as s:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, perms)
        try:
            fcntl.ioctl(fd, FICLONE, s.fileno())
        except OSError:
            os.close(fd)
            os.unlink(dst)
            raise
        os.close(fd)
