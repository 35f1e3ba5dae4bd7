"""Writing a tree (store/tree.py) out as a folder: its files, links and empty folders
under a destination, every object verified while it is copied, every path through the
checked resolver (store/paths.py), every link checked to stay inside the folder.

This is the plain copy a stored folder needs elsewhere (a model's cache folder, a stage's
metrics folder, `run artifacts -o`). Checking a folder out into the workspace (link modes,
stat cache, journal) is data/checkout.py, which uses ``check_link_target`` too.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from pathlib import Path

from mlctl.errors import StoreDamageError
from mlctl.store import paths
from mlctl.store.tree import DIR_MODE, LINK_MODE, Entry


def check_link_target(member: str, target: str, where: str) -> str:
    """Refuse a recorded link whose target, read from the link's folder, leaves the tracked
    folder or touches .git/.mlctl (a crafted tree: exit 3); returns the target."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
    if (target.startswith("/") or joined in (".", "..") or joined.startswith("../")
            or "\\" in target or any(map(paths.is_control, target)) or paths.problem(joined)):
        raise StoreDamageError(f"{where}: the symlink {member!r} -> {target!r} leaves its folder",
                               hint="a recorded link may only point inside the tracked folder")
    return target


def materialize(objects, entries: list[Entry], dest: str | os.PathLike, where: str = "tree",
                readonly: bool = False) -> list[Path]:
    """Write ``entries`` under ``dest`` (created if needed); returns the paths written.
    Links are checked before anything is written and made last, so no file is written
    through one; ``readonly`` drops the write bits (a cache nobody may edit in place)."""
    dest = Path(dest)
    links = [(e, _link_text(objects, e, where)) for e in entries if e.mode == LINK_MODE]
    written = []
    for e in entries:
        target = paths.resolve(dest, e.path, source=where)
        if e.mode == DIR_MODE:
            target.mkdir(parents=True, exist_ok=True)
        elif e.mode != LINK_MODE:
            objects.copy_to(e.hash, target, verify=True)
            os.chmod(target, e.mode & 0o555 if readonly else e.mode)
        written.append(target)
    for e, text in links:
        target = paths.resolve(dest, e.path, source=where)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(text, target)
    _links_inside(dest, [e.path for e, _ in links], where)
    return written


def _link_text(objects, entry: Entry, where: str) -> str:
    text = objects.get_bytes(entry.hash, verify=True).decode("utf-8", "surrogateescape")
    return check_link_target(entry.path, text, where)


def _links_inside(dest: Path, members: list[str], where: str) -> None:
    """Each link made must really resolve inside ``dest`` (a chain of links can climb
    further than each link's own text says); else all of them are removed."""
    top = os.path.realpath(dest)
    for member in members:
        real = os.path.realpath(dest / member)
        if real != top and not real.startswith(top + os.sep):
            for other in members:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dest / other)
            raise StoreDamageError(f"{where}: the symlink {member!r} resolves outside its folder (to {real}); links removed",
                                   hint="the tree is crafted or damaged: re-add the folder from a good copy")
