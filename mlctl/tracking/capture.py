"""What every run records without being asked: git state, command line, interpreter and
key package versions, the tracked data's hashes, the host.

Package versions come from the ``*.dist-info`` folder names on ``sys.path`` (what
importlib.metadata reads), so nothing is imported to learn them. Git state and the
data pointers are cached for ``CACHE_SECONDS`` per process so that a sweep creating
thousands of runs in one process does not run git thousands of times.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from mlctl.errors import UsageError

CACHE_SECONDS = 2.0
POINTER_SUFFIX = ".mlctl"
KEY_PACKAGES = (
    "numpy", "pandas", "scikit-learn", "scipy", "torch", "tensorflow", "keras", "jax",
    "xgboost", "lightgbm", "catboost", "transformers", "statsmodels", "pyarrow", "polars",
)
_cache: dict[tuple, tuple[float, object]] = {}


def _cached(key: tuple, compute, ttl: float | None = CACHE_SECONDS):
    hit = _cache.get(key)
    now = time.monotonic()
    if hit and (ttl is None or now - hit[0] < ttl):
        return hit[1]
    value = compute()
    _cache[key] = (now, value)
    return value


def clear_cache() -> None:
    _cache.clear()


# -- git ------------------------------------------------------------------------------------
GIT_STATUS = ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"]


def git_state(root: Path) -> dict:
    """{"commit": sha or None, "dirty": bool or None} (None outside git)."""
    return dict(_cached(("git", str(root)), lambda: _parse_status(_run_git(root, GIT_STATUS))))


def _start_git(root: Path, argv: list[str]):
    try:
        return subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _finish_git(proc) -> bytes | None:
    if proc is None:
        return None
    out, _ = proc.communicate()
    return out if proc.returncode == 0 else None


def _run_git(root: Path, argv: list[str]) -> bytes | None:
    return _finish_git(_start_git(root, argv))


def _parse_status(out: bytes | None) -> dict:
    if out is None:
        return {"commit": None, "dirty": None}
    commit, dirty = None, False
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            commit = None if oid == "(initial)" else oid
        elif line and not line.startswith("#"):
            dirty = True
    return {"commit": commit, "dirty": dirty}


def prefetch(repo) -> None:
    """Ask git for its state and the pointer files at once (two processes in parallel:
    a CLI `run log` pays for one git start, not two)."""
    root = repo.root
    need_git = ("git", str(root)) not in _cache or not _fresh(("git", str(root)))
    need_data = not _fresh(("data", str(root)))
    if not (need_git and need_data and (root / ".git").exists()):
        return
    status = _start_git(root, GIT_STATUS)
    listing = _start_git(root, LS_POINTERS)
    _cache[("git", str(root))] = (time.monotonic(), _parse_status(_finish_git(status)))
    files = _pointer_names(root, _finish_git(listing))
    _cache[("data", str(root))] = (time.monotonic(), _hashes(repo, files))


def _fresh(key: tuple) -> bool:
    hit = _cache.get(key)
    return bool(hit) and time.monotonic() - hit[0] < CACHE_SECONDS


# -- environment ----------------------------------------------------------------------------
def command_line() -> str:
    """The command line that started this process, as a shell would take it."""
    argv = list(sys.argv) or [""]
    program = argv[0].replace("\\", "/")
    if program.endswith("mlctl/__main__.py") or Path(program).name == "mlctl":
        return shlex.join(["mlctl", *argv[1:]])
    if program in ("", "-c") or program.endswith(".py"):
        return shlex.join([Path(sys.executable).name, *argv])
    return shlex.join(argv)


def host() -> str:
    return os.uname().nodename  # what socket.gethostname() returns, without importing socket


def environment() -> dict:
    """{"python": version, "implementation", "platform", "packages": {name: version}}."""
    return dict(_cached(("env",), _environment, ttl=None))


def _environment() -> dict:
    from mlctl import __version__

    packages = installed_versions(KEY_PACKAGES)
    packages["mlctl"] = __version__
    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(sys.implementation.name, sys.implementation.name),
        "platform": sys.platform,
        "executable": sys.executable,
        "packages": dict(sorted(packages.items())),
    }


def _normalize(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def installed_versions(names) -> dict[str, str]:
    wanted = {_normalize(n): n for n in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for fname in listing:
            if not fname.endswith((".dist-info", ".egg-info")):
                continue
            stem = fname.rsplit(".", 1)[0]
            name, _, version = stem.partition("-")
            original = wanted.get(_normalize(name))
            if original and original not in found and version:
                found[original] = version
    return found


# -- data pointers --------------------------------------------------------------------------
def data_pointers(repo) -> dict[str, str]:
    """Every tracked data path in the workspace -> its hash, from the ``*.mlctl`` pointers."""
    return dict(_cached(("data", str(repo.root)), lambda: _all_pointers(repo)))


LS_POINTERS = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*" + POINTER_SUFFIX]


def _all_pointers(repo) -> dict[str, str]:
    if (repo.root / ".git").exists():
        files = _pointer_names(repo.root, _run_git(repo.root, LS_POINTERS))
    else:
        files = _walk_pointers(repo.root)
    return _hashes(repo, files)


def _hashes(repo, files: list[str]) -> dict[str, str]:
    out = {}
    for rel in files:
        digest = _read_pointer_hash(repo.root / rel)
        if digest:
            out[rel[: -len(POINTER_SUFFIX)]] = digest
    return dict(sorted(out.items()))


def _pointer_names(root: Path, out: bytes | None) -> list[str]:
    if out is None:  # not a git work tree after all
        return _walk_pointers(root)
    names = [n for n in out.decode(errors="replace").split("\0") if n]
    return sorted({n for n in names if (root / n).is_file()})


def _walk_pointers(root: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        names = set(filenames)
        # skip hidden folders and folders that are themselves tracked data
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d + POINTER_SUFFIX not in names]
        for fname in filenames:
            if fname.endswith(POINTER_SUFFIX) and len(fname) > len(POINTER_SUFFIX):
                found.append(Path(dirpath, fname).relative_to(root).as_posix())
    return sorted(found)


_HASH_LINE = re.compile(r"""^hash:\s*["']?([0-9a-f]{32})["']?\s*(#.*)?$""", re.MULTILINE)


def _read_pointer_hash(path: Path) -> str | None:
    """The ``hash`` of a pointer file. Read as text, not through YAML typing: an
    all-digit hash would otherwise come back as an integer without its leading zeros."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _HASH_LINE.search(text)
    return match.group(1) if match else None


def named_data(repo, paths) -> dict[str, str]:
    """The hashes of the data paths a run names (``--data``): a tracked path, its pointer
    file, or a path inside a tracked folder (which records the folder's version)."""
    out = {}
    for user_path in paths:
        rel = repo.relpath(user_path)
        if rel.endswith(POINTER_SUFFIX):
            rel = rel[: -len(POINTER_SUFFIX)]
        found = _nearest_pointer(repo, rel)
        if found is None:
            raise UsageError(f"{user_path} is not tracked data (no {rel}{POINTER_SUFFIX} pointer)",
                             hint=f"run `mlctl data add {user_path}` first")
        out[found[0]] = found[1]
    return dict(sorted(out.items()))


def _nearest_pointer(repo, rel: str) -> tuple[str, str] | None:
    parts = rel.split("/")
    for depth in range(len(parts), 0, -1):
        candidate = "/".join(parts[:depth])
        pointer = repo.root / (candidate + POINTER_SUFFIX)
        if pointer.is_file():
            digest = _read_pointer_hash(pointer)
            if digest is None:
                raise UsageError(f"{candidate}{POINTER_SUFFIX} is not a valid data pointer (no hash)")
            return candidate, digest
    return None
