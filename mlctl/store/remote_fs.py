"""Where a remote's bytes live: a local folder (plain os calls) or any fsspec filesystem.

Both backends expose the same small surface, addressed by posix paths relative to the
remote's root, and both make a file visible under its final name only when it is
complete: the folder backend writes a temp beside it, fsyncs and renames; object stores
(S3, GCS, Azure, memory) publish a PUT atomically; other fsspec filesystems get a temp
name and a move. The transfer logic (mlctl/store/transfer.py) is written once against
this surface and tested against each backend.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import BinaryIO

from mlctl.store.atomic import atomic_write_bytes, is_temp_name
from mlctl.store import fastio
from mlctl.store.fastio import check_digest, stream_verified
from mlctl.store.durable import each_staged, install_all
from mlctl.store.hashing import hash_bytes, hash_file
from mlctl.store.staging import shard_temp, write_in_shard

SMALL_OBJECT = 16 << 20
BUCKET_PROTOCOLS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}
ATOMIC_PUT_PROTOCOLS = BUCKET_PROTOCOLS | {"memory"}


class LocalBackend:
    """A remote that is a folder on this machine (or a mounted share)."""

    def __init__(self, root: Path):
        self.root = root
        self.url = str(root)
        self.objects_root = f"{root}/objects"
        self._shards: set[str] = set()
        self._temps_seen: dict[str, list[str]] = {}  # shard -> temp names list_objects saw

    def path(self, rel: str) -> Path:
        return self.root / rel

    def check(self, create: bool) -> None:
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise FileNotFoundError(2, "remote folder does not exist", str(self.root))

    def exists(self, rel: str) -> bool:
        return self.path(rel).is_file()

    def list_objects(self, shards: set[str] | None = None) -> set[str]:
        base = self.root / "objects"
        names = sorted(shards) if shards is not None else _listdir(base)
        found = set()
        for shard in names:
            listed = _listdir(base / shard)
            found.update(shard + name for name in listed if len(name) == 30 and "." not in name)
            self._temps_seen[shard] = [name for name in listed if name[0] == "." and is_remote_temp(name)]
        return found

    def remove_stale_temps(self, shards: set[str], cutoff: float) -> int:
        """Remove temps older than ``cutoff`` in these object shards (what killed pushes
        left), reusing the listing ``list_objects`` made of a shard where there is one."""
        removed = 0
        for shard in shards:
            names = self._temps_seen.pop(shard, None)
            if names is None:
                names = [name for name in _listdir(self.root / "objects" / shard) if is_remote_temp(name)]
            removed += sum(_unlink_if_older(self.root / "objects" / shard / name, cutoff) for name in names)
        return removed

    def list_temps(self) -> list[tuple[str, float | None]]:
        """(relpath, mtime) of every temp file under the remote's root."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in filenames:
                if is_remote_temp(name):
                    path = Path(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        out.append((path.relative_to(self.root).as_posix(), path.lstat().st_mtime))
        return sorted(out)

    def remove(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(rel))

    def open_read(self, rel: str) -> BinaryIO:
        return open(self.path(rel), "rb")

    def put_object(self, local: str, rel: str, digest: str) -> str:
        """Copy a local object to a temp beside its final name (so the rename in ``commit``
        is atomic), verifying it on the way."""
        tmp = shard_temp(self.objects_root, digest, self._shards)
        fastio.copy_verified(os.fspath(local), tmp, digest, 0o444)
        return tmp

    def fetch_object(self, rel: str, dest: str, digest: str) -> None:
        """Copy a remote object to new local file ``dest``, verified (FileNotFoundError if
        the remote lacks it)."""
        fastio.copy_verified(str(self.path(rel)), dest, digest, 0o444)

    def commit(self, staged: list[tuple[str, str]]) -> None:
        root = str(self.root)
        install_all([(tmp, f"{root}/{rel}") for tmp, rel in staged])

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Create or replace a small file atomically."""
        atomic_write_bytes(self.path(rel), data)

    def read_bytes(self, rel: str) -> bytes | None:
        try:
            return self.path(rel).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def list_files(self, prefix: str) -> list[str]:
        base = self.path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in filenames:
                if not is_temp_name(name):
                    out.append(Path(dirpath, name).relative_to(self.root).as_posix())
        return sorted(out)


class FsspecBackend:
    """A remote reached through an fsspec filesystem (s3://, gs://, memory://, ...)."""

    def __init__(self, fs, root: str, url: str):
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self.atomic_put = protocol in ATOMIC_PUT_PROTOCOLS
        self.bucketed = protocol in BUCKET_PROTOCOLS

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def check(self, create: bool) -> None:
        if self.bucketed:  # buckets are made by their owner, never by a push
            bucket = self.root.split("/", 1)[0]
            try:
                self.fs.info(bucket)  # unlike exists(), lets a connection error through
            except FileNotFoundError:
                raise FileNotFoundError(2, "bucket does not exist", bucket) from None
        elif create:
            self.fs.makedirs(self.root, exist_ok=True)
        elif not self.fs.exists(self.root):
            raise FileNotFoundError(2, "remote folder does not exist", self.root)

    def exists(self, rel: str) -> bool:
        return self.fs.isfile(self.path(rel))

    def list_objects(self, shards: set[str] | None = None) -> set[str]:
        base = self.path("objects")
        try:
            names = self.fs.find(base)
        except FileNotFoundError:
            return set()
        found = set()
        for name in names:
            shard, _, rest = name[len(base) + 1:].partition("/")
            if len(shard) == 2 and len(rest) == 30 and "/" not in rest and "." not in rest:
                found.add(shard + rest)  # skips temp names of unfinished uploads
        return found

    def open_read(self, rel: str) -> BinaryIO:
        return self.fs.open(self.path(rel), "rb", block_size=1 << 22)

    def put_object(self, local: str, rel: str, digest: str) -> None:
        """Upload a local object after checking it; published whole or not at all."""
        local = os.fspath(local)
        if os.stat(local).st_size <= SMALL_OBJECT:
            with open(local, "rb") as f:
                data = f.read()
            check_digest(hash_bytes(data), digest)
            self.write_bytes(rel, data)
            return
        check_digest(hash_file(local), digest)
        self._publish(rel, lambda path: self.fs.put_file(local, path))

    def commit(self, staged: list) -> None:
        """Nothing to do: every upload was published whole."""

    def fetch_object(self, rel: str, dest: str, digest: str) -> None:
        try:
            with self.open_read(rel) as src, open(os.open(dest, fastio.CREATE, 0o444), "wb") as out:
                stream_verified(src, out, digest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise

    def write_bytes(self, rel: str, data: bytes) -> None:
        self._publish(rel, lambda path: self.fs.pipe_file(path, data))

    def _publish(self, rel: str, upload) -> None:
        """Upload under the final name where the backend publishes whole objects (S3),
        else under a temp name then rename, so a reader never sees half a file."""
        target = self.path(rel)
        if self.atomic_put:
            upload(target)
            return
        tmp = f"{target}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
        upload(tmp)
        self.fs.mv(tmp, target)

    def list_temps(self) -> list[tuple[str, float | None]]:
        """(relpath, mtime or None where the backend gives none) of every temp file."""
        try:
            infos = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return []
        return sorted((name[len(self.root) + 1:], _info_mtime(info)) for name, info in infos.items()
                      if is_remote_temp(name.rsplit("/", 1)[-1]))

    def remove(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(rel))

    def read_bytes(self, rel: str) -> bytes | None:
        try:
            return self.fs.cat_file(self.path(rel))
        except (FileNotFoundError, IsADirectoryError):
            return None

    def list_files(self, prefix: str) -> list[str]:
        base = self.path(prefix)
        try:
            names = self.fs.find(base)
        except FileNotFoundError:
            return []
        rels = (name[len(self.root) + 1:] for name in names)
        return sorted(rel for rel in rels if ".tmp-" not in rel.rsplit("/", 1)[-1])  # unfinished uploads


def copy_objects(src_root: str, dest_root: str, missing_ok: bool, digests: list[str]) -> list[str | None]:
    """A worker's task (see workers.py) between two object folders on this machine (a
    push to or pull from a folder remote): copy each object, verified, to a temp beside
    its final name for ``install_all``. None for an object the source lacks when
    ``missing_ok``; on an error, the task's temps are dropped and the error raised."""
    def copy_one(digest: str) -> str | None:
        src = f"{src_root}/{digest[:2]}/{digest[2:]}"
        try:
            return write_in_shard(dest_root, digest, lambda tmp: fastio.copy_verified(src, tmp, digest, 0o444))
        except FileNotFoundError as exc:
            if missing_ok and exc.filename == src:
                return None
            raise

    return each_staged(copy_one, digests)


def is_remote_temp(name: str) -> bool:
    """A temp file name any mlctl writer uses on a remote: ``.<name>.tmp-<pid>-<hex>``
    (folder remotes) or ``<name>.tmp-<pid>-<hex>`` (fsspec moves). Objects never match."""
    return _TEMP_NAME.search(name) is not None


_TEMP_NAME = re.compile(r"\.tmp-\d+-[0-9a-f]+$")


def _unlink_if_older(path: Path, cutoff: float) -> bool:
    try:
        if path.lstat().st_mtime > cutoff:
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _info_mtime(info: dict) -> float | None:
    """An fsspec entry's modification time as a timestamp: S3 gives LastModified, local
    and memory filesystems mtime or created."""
    for key in ("LastModified", "mtime", "created"):
        value = info.get(key)
        if hasattr(value, "timestamp"):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []

