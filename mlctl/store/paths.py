"""The one checked path resolver: every path that comes from a pointer, a manifest, a
pipeline file, a lock, a run-cache entry, a remote or a user goes through here before
mlctl reads or writes it (SPEC: safety; docs/security.md).

A safe relative path is posix, non-empty, and made of non-empty parts none of which is
``.`` or ``..``; it holds no backslash and no control character (a newline in a name
would become two lines of a .gitignore); and no part names ``.git`` or ``.mlctl`` as a
filesystem might read it: case-folded (macOS, Windows), with the code points HFS+ ignores
removed, with Windows' trailing dots and spaces dropped, as an 8.3 short name
(``GIT~1``), or as a unicode look-alike that NFKC folds to it (a fullwidth ``．ｇｉｔ``).
``resolve`` also follows the symlinks among the path's parents and refuses a path whose
folder then lies outside the repository or inside its ``.git``/``.mlctl``.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from mlctl.errors import MlctlError, StoreDamageError

RESERVED = frozenset({".git", ".mlctl", "git~1", "mlctl~1"})
# code points HFS+ drops when comparing names (git's is_hfs_dotgit list)
_HFS_IGNORED = dict.fromkeys([0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F),
                              *range(0x206A, 0x2070), 0xFEFF])


class UnsafePathError(StoreDamageError):
    """A stored or received path that could leave the repository or reach into .git or
    .mlctl (exit 3: what wrote it is damaged or hostile)."""


def is_control(char: str) -> bool:
    """C0, DEL and C1 controls (unicode category Cc)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


def is_reserved(part: str) -> bool:
    """True when a path part would be read as ``.git`` or ``.mlctl`` by some filesystem."""
    if part.isascii():
        folded = part.lower()
    else:
        folded = unicodedata.normalize("NFKC", part.translate(_HFS_IGNORED)).casefold()
    return folded.rstrip(". ") in RESERVED


def problem(rel) -> str | None:
    """What makes ``rel`` unsafe as a repository-relative path, or None when it is safe."""
    if not isinstance(rel, str) or not rel:
        return "not a non-empty string"
    if any(is_control(c) for c in rel):
        return "it holds a control character"
    if "\\" in rel:
        return "it holds a backslash (not a posix path)"
    if rel.startswith("/"):
        return "it is absolute"
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            return "it has an empty, '.' or '..' part" if part != ".." else "it climbs out with '..'"
        if is_reserved(part):
            return f"it is inside {part}/, which only git or mlctl may write"
    return None


def check(rel, source: str = "stored path", error: type[MlctlError] = UnsafePathError) -> str:
    """``rel`` itself when it is a safe relative path; else ``error`` naming ``source``."""
    found = problem(rel)
    if found:
        raise error(f"{source}: unsafe path {rel!r}: {found}",
                    hint="a path from a file or a remote may not leave the repository or touch .git/.mlctl")
    return rel


def resolve(root: str | os.PathLike, rel, source: str = "stored path",
            error: type[MlctlError] = UnsafePathError) -> Path:
    """The absolute path of ``rel`` under ``root``, after ``check`` and after making sure
    that its folder, with every symlink on the way followed, is still inside ``root`` and
    outside .git/.mlctl. The last part is not followed: writers replace it, never write
    through it."""
    check(rel, source, error)
    root = Path(root)
    parent, _, _name = rel.rpartition("/")
    if parent:
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(real_root, parent))
        inside = os.path.relpath(real, real_root)
        if real != real_root and (inside == ".." or inside.startswith(".." + os.sep) or problem(inside.replace(os.sep, "/"))):
            raise error(f"{source}: {rel!r} leads outside the workspace or into .git/.mlctl through a symlink (to {real})",
                        hint="replace the symlinked folder with a real one, then run the command again")
    return root / rel


def overlaps(a: str, b: str) -> bool:
    """True when one path is the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
