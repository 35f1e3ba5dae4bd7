"""The workspace side: which pointers exist, which tracked paths a user means, and the
files of a tracked folder with their stat results."""

from __future__ import annotations

import os
import stat as stat_mod
import subprocess
from typing import NamedTuple

from mlctl.data import pointer as pointer_mod
from mlctl.data.pointer import SUFFIX, Pointer
from mlctl.errors import NotFoundError, UsageError
from mlctl.store.paths import problem
from mlctl.store.repo import DOT, Repo
from mlctl.store.statcache import fingerprint_of

SKIP_DIRS = {".git", DOT}


class WorkFile(NamedTuple):
    rel: str  # posix path inside the tracked folder ("" for a tracked file)
    path: str  # absolute path
    st: os.stat_result  # the file's (followed) stat; a recorded link's own lstat
    is_link: bool = False  # reached through a symlink
    target: str | None = None  # a symlink recorded as a link: its target, relative to its folder


class LinkPolicy:
    """What a folder listing does with a symlink whose target lies outside the tracked
    folder: links inside it are recorded as links (manifest mode 0o120000) everywhere.
    Reading commands follow the others; `data add` refuses those that leave the
    repository unless ``follow`` (then it follows them and notes each in ``followed``)."""

    def __init__(self, repo_root: str | None = None, follow: bool = True, store_root: str | None = None):
        # the store counts as inside: `--link symlink` checkouts link into it, wherever MLCTL_DIR puts it
        self.roots = [os.path.realpath(r) for r in (repo_root, store_root) if r]
        self.follow = follow
        self.followed: list[str] = []

    def leaves_repo(self, real: str) -> bool:
        return bool(self.roots) and not any(real == r or real.startswith(r + os.sep) for r in self.roots)


FOLLOW = LinkPolicy()


def pointer_files(repo: Repo) -> list[str]:
    """Workspace-relative paths of every pointer file, sorted. Asks git (which skips what
    .gitignore hides, tracked folders among it) and falls back to walking the folders."""
    found = _git_pointer_files(repo)
    if found is None:
        found = _walk_pointer_files(repo)
    return sorted(found)


def _git_pointer_files(repo: Repo) -> list[str] | None:
    if not (repo.root / ".git").exists() and not _inside_git(repo):
        return None
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", f"*{SUFFIX}"],
            cwd=repo.root, capture_output=True, check=False)
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    names = {n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
    return [n for n in names if not n.startswith(DOT + "/") and os.path.isfile(repo.root / n)]


def _inside_git(repo: Repo) -> bool:
    return any((parent / ".git").exists() for parent in repo.root.parents)


def _walk_pointer_files(repo: Repo) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(repo.root):
        rel_dir = os.path.relpath(dirpath, repo.root)
        tracked_dirs = {f[: -len(SUFFIX)] for f in filenames if f.endswith(SUFFIX)}
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and d not in tracked_dirs]
        for name in filenames:
            if name.endswith(SUFFIX) and name != SUFFIX:
                out.append(name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/"))
    return out


def tracked(repo: Repo) -> list[Pointer]:
    """Every pointer in the workspace, parsed and checked, sorted by path."""
    return [pointer_mod.read(repo.root, rel) for rel in pointer_files(repo)]


def select(repo: Repo, pointers: list[Pointer], user_paths: list[str] | None) -> list[Pointer]:
    """The pointers a user's paths name: a tracked path, its pointer file, a folder holding
    tracked paths, or a path inside a tracked folder. Unknown paths are exit 2."""
    if not user_paths:
        return pointers
    chosen: dict[str, Pointer] = {}
    for raw in user_paths:
        rel = repo.relpath(raw)
        if rel.endswith(SUFFIX):
            rel = rel[: -len(SUFFIX)]
        hits = [p for p in pointers if _covers(rel, p.path)]
        if not hits:
            raise NotFoundError(f"{raw} is not tracked", hint="`mlctl data list` shows tracked paths")
        chosen.update((p.path, p) for p in hits)
    return [chosen[k] for k in sorted(chosen)]


def _covers(rel: str, tracked_path: str) -> bool:
    if rel == ".":
        return True
    return (tracked_path == rel or tracked_path.startswith(rel + "/")
            or rel.startswith(tracked_path + "/"))


def list_files(abs_root: str, display: str, links: LinkPolicy = FOLLOW) -> list[WorkFile]:
    """Every regular file under a folder, every empty folder in it (``st`` a folder's), and
    every symlink that stays inside it (as a link), sorted by path; other file symlinks
    are followed as ``links`` says."""
    out: list[WorkFile] = []
    _scan(abs_root, "", display, out, (os.path.realpath(abs_root), links))
    out.sort(key=lambda f: f.rel)
    return out


def _scan(folder: str, prefix: str, display: str, out: list[WorkFile], links) -> None:
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except NotADirectoryError:
        return
    append, is_reg = out.append, stat_mod.S_ISREG
    for entry in entries:
        if not _plain(entry.name):
            if entry.name in SKIP_DIRS:  # a nested repository's .git (folder or gitlink file)
                continue
            _check_name(entry.name, f"{display}/{prefix}")
        if entry.is_dir(follow_symlinks=False):
            count = len(out)
            _scan(entry.path, prefix + entry.name + "/", display, out, links)
            if len(out) == count:  # an empty folder: recorded, so checkout brings it back
                append(WorkFile(prefix + entry.name, entry.path, entry.stat(follow_symlinks=False)))
            continue
        if entry.is_symlink() and _recorded_link(entry, prefix, display, out, links):
            continue
        try:
            st = entry.stat()
        except FileNotFoundError:
            if entry.is_symlink():
                raise UsageError(f"{display}/{prefix}{entry.name} is a broken symlink") from None
            continue  # deleted while we looked
        if is_reg(st.st_mode):
            append(WorkFile(prefix + entry.name, entry.path, st, entry.is_symlink()))
            continue
        rel = prefix + entry.name
        if stat_mod.S_ISDIR(st.st_mode):
            raise UsageError(f"{display}/{rel} is a symlink to a folder; mlctl does not follow those",
                             hint="replace it with the folder or a copy")
        else:
            raise UsageError(f"{display}/{rel} is not a regular file (socket, fifo or device)")


def _recorded_link(entry, prefix: str, display: str, out: list[WorkFile], links) -> bool:
    """Record a symlink that stays inside the tracked folder as a link (True); refuse one
    that leaves the repository unless the policy follows it; False: follow it."""
    folder_real, policy = links
    real = os.path.realpath(entry.path)
    if real.startswith(folder_real + os.sep):
        target = os.path.relpath(real, os.path.realpath(os.path.dirname(entry.path))).replace(os.sep, "/")
        try:
            st = entry.stat()  # the target's stat, as the one-pass fingerprint sees it
        except FileNotFoundError:
            st = entry.stat(follow_symlinks=False)
        out.append(WorkFile(prefix + entry.name, entry.path, st, True, target))
        return True
    if policy.leaves_repo(real):
        shown = f"{display}/{prefix}{entry.name}"
        if not policy.follow:
            raise UsageError(f"{shown} is a symlink to {real}, outside the repository",
                             hint="pass --follow-links to store its target's content, or replace the link")
        policy.followed.append(f"{shown}: stored the content of {real} (a symlink leaving the repository)")
    return False


def _plain(name: str) -> bool:
    """True for the names that need no closer look (nearly all): printable ASCII not
    starting with a dot, with no ``~`` or backslash. One C-speed test per name."""
    return name.isascii() and name.isprintable() and name[0] != "." and "~" not in name and "\\" not in name


def _check_name(name: str, where: str) -> None:
    """Refuse a name no manifest may hold: not UTF-8, a control character, a backslash,
    or one a filesystem would read as .git/.mlctl (store/paths.py), naming it (exit 2)."""
    if not _utf8(name):
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        raise UsageError(f"{where}{shown}: the name is not valid UTF-8, which manifests require",
                         hint="rename it (e.g. with convmv) and run the command again")
    found = problem(name)
    if found:
        raise UsageError(f"{where}{name!r} cannot be tracked: {found}", hint="rename it, or move it out of the folder")


def _utf8(name: str) -> bool:
    """False for a name that came off the disk as bytes that are not UTF-8 (Python keeps
    them as lone surrogates, which no manifest or pointer can hold)."""
    if name.isascii():  # nearly every name: no encoding needed
        return True
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def listing_fingerprint(abs_root: str, started_ns: int) -> str | None:
    """The stat cache's fingerprint of a folder listing, computed in one tight pass (the
    common case of `data status`: nothing changed). None when the folder holds anything
    unusual (broken or folder symlinks, special files), which the full listing reports."""
    parts: list[str] = []
    newest, coarse, checked = 0, True, 0
    stack = [(abs_root, "")]
    is_reg = stat_mod.S_ISREG
    while stack:
        folder, prefix = stack.pop()
        empty = True
        with os.scandir(folder) as it:
            for entry in it:
                if not _utf8(entry.name):
                    return None  # the full listing says what is wrong with it
                if entry.name in SKIP_DIRS:  # as the full listing skips them
                    continue
                empty = False
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, prefix + entry.name + "/"))
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    return None
                if not is_reg(st.st_mode):
                    return None
                mtime = st.st_mtime_ns
                parts.append(f"{prefix}{entry.name}\x1f{st.st_ino}\x1f{mtime}\x1f{st.st_size}")
                if mtime > newest:
                    newest = mtime
                if checked < 64:
                    checked += 1
                    coarse = coarse and mtime % 1_000_000_000 == 0
        if empty and prefix:
            return None  # an empty folder is a manifest entry: the full listing records it
    return fingerprint_of(parts, newest, coarse, started_ns)
