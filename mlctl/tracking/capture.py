"""What every run records without being asked: git state, command line, interpreter and
key package versions, the tracked data's hashes, the host.

Package versions come from the ``*.dist-info`` folder names on ``sys.path`` (what
importlib.metadata reads), so nothing is imported to learn them. Git state and the
data pointers are cached for ``CACHE_SECONDS`` per process so that a sweep creating
thousands of runs in one process does not run git thousands of times.
"""

from __future__ import annotations

import os
import platform
import shlex
import socket
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
def git_state(root: Path) -> dict:
    """{"commit": sha or None, "dirty": bool or None} (None outside git)."""
    return dict(_cached(("git", str(root)), lambda: _git_state(root)))


def _git_state(root: Path) -> dict:
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=root, capture_output=True, check=False,
        )
    except (FileNotFoundError, OSError):
        return {"commit": None, "dirty": None}
    if proc.returncode != 0:
        return {"commit": None, "dirty": None}
    commit, dirty = None, False
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            commit = None if oid == "(initial)" else oid
        elif line and not line.startswith("#"):
            dirty = True
    return {"commit": commit, "dirty": dirty}


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
    return socket.gethostname()


def environment() -> dict:
    """{"python": version, "implementation", "platform", "packages": {name: version}}."""
    return dict(_cached(("env",), _environment, ttl=None))


def _environment() -> dict:
    from mlctl import __version__

    packages = installed_versions(KEY_PACKAGES)
    packages["mlctl"] = __version__
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
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


def _all_pointers(repo) -> dict[str, str]:
    out = {}
    for rel in _pointer_files(repo.root):
        digest = _read_pointer_hash(repo.root / rel)
        if digest:
            out[rel[: -len(POINTER_SUFFIX)]] = digest
    return dict(sorted(out.items()))


def _pointer_files(root: Path) -> list[str]:
    if (root / ".git").exists():
        try:
            proc = subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*" + POINTER_SUFFIX],
                cwd=root, capture_output=True, check=False,
            )
            if proc.returncode == 0:
                names = [n for n in proc.stdout.decode(errors="replace").split("\0") if n]
                return sorted({n for n in names if (root / n).is_file()})
        except OSError:
            pass
    return _walk_pointers(root)


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


def _read_pointer_hash(path: Path) -> str | None:
    import yaml

    from mlctl.store.hashing import is_hash

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    digest = data.get("hash") if isinstance(data, dict) else None
    return digest if is_hash(digest) else None


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
