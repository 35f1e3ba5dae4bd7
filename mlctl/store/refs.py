"""Small mutable state: named refs under ``.mlctl/refs/``, replaced atomically under a lock.

A ref holds a short text value (usually an object hash) or a JSON document. Every update
goes through ``update`` (lock, read, compute, atomic replace), so concurrent writers
never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

from mlctl.errors import UsageError
from mlctl.store.atomic import atomic_write_text, is_temp_name
from mlctl.store.lock import FileLock
from mlctl.store.records import canonical, parse_json

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:+=-]*$")


def check_ref_name(name: str) -> str:
    parts = name.split("/")
    if not name or any(not _SEGMENT.match(p) or p in (".", "..") for p in parts):
        raise UsageError(f"invalid ref name: {name!r}")
    return name


class RefStore:
    def __init__(self, root: str | os.PathLike, locks: str | os.PathLike):
        self.root = Path(root)
        self.locks = Path(locks)

    def path(self, name: str) -> Path:
        return self.root / check_ref_name(name)

    def lock(self, name: str, timeout: float | None = None) -> FileLock:
        return FileLock(self.locks / "refs" / (check_ref_name(name) + ".lock"), timeout, what=f"ref {name}")

    # -- text values ----------------------------------------------------------------------
    def read(self, name: str) -> str | None:
        try:
            return self.path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, name: str, value: str) -> None:
        with self.lock(name):
            atomic_write_text(self.path(name), value)

    def update(self, name: str, fn: Callable[[str | None], str | None]) -> str | None:
        """Atomically replace the ref with ``fn(old)``; ``None`` deletes it."""
        with self.lock(name):
            new = fn(self.read(name))
            if new is None:
                self._unlink(name)
            else:
                atomic_write_text(self.path(name), new)
            return new

    def delete(self, name: str) -> None:
        with self.lock(name):
            self._unlink(name)

    def _unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(name))

    # -- JSON values ----------------------------------------------------------------------
    def read_json(self, name: str, default: Any = None) -> Any:
        text = self.read(name)
        return default if text is None else parse_json(text, f"ref {name}")

    def write_json(self, name: str, value: Any) -> None:
        self.write(name, _dump(value))

    def update_json(self, name: str, fn: Callable[[Any], Any], default: Any = None) -> Any:
        result = {}

        def apply(old: str | None) -> str | None:
            value = default if old is None else parse_json(old, f"ref {name}")
            result["new"] = fn(value)
            return None if result["new"] is None else _dump(result["new"])

        self.update(name, apply)
        return result["new"]

    # -- listing --------------------------------------------------------------------------
    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for fname in sorted(filenames):
                if is_temp_name(fname):
                    continue
                yield Path(dirpath, fname).relative_to(self.root).as_posix()


def _dump(value: Any) -> str:
    return canonical(value).decode("ascii") + "\n"  # refs written before were indented: JSON all the same
