"""Settings in ``.mlctl/config.yaml`` (tracked by git) and ``.mlctl/config.local.yaml``
(ignored; the only place credentials may be written).

Keys are dotted paths into nested YAML maps (``remote.origin.url``). Every key must be
known: the core's keys are below, and a component adds its own through ``CONFIG_KEYS`` in
its ``plugin`` module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from mlctl.errors import NotFoundError, StoreDamageError, UsageError
from mlctl.store.atomic import atomic_write_text
from mlctl.store.backend import url as backend_url
from mlctl.store.memory import checked_memory

FORMAT_VERSION = 1
SECRET_WORDS = ("secret", "password", "token", "access_key", "credential")


@dataclass(frozen=True)
class KeySpec:
    pattern: str
    parse: Callable[[str], Any]
    doc: str
    read_only: bool = False
    holds_secret: Callable[[str], bool] | None = None  # a value that may carry a credential (a URL's password)


def parse_non_negative_float(text: str) -> float:
    """A config value such as ``core.lock_timeout``: a number >= 0."""
    value = float(text)
    if not value >= 0:  # written so that nan, false in every comparison, is refused too
        raise ValueError("must be a number >= 0")
    return value


def parse_positive_float(text: str) -> float:
    """A number > 0 (an interval: zero would spin)."""
    value = parse_non_negative_float(text)
    if value == 0:
        raise ValueError("must be > 0")
    return value


def parse_positive_int(text: str) -> int:
    """A whole number >= 1 (a count of workers, of entries kept)."""
    value = int(text)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def parse_bool(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0, any case."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


CORE_KEYS = [
    KeySpec(r"core\.format", int, "store format version (set by init)", read_only=True),
    KeySpec(r"core\.default_remote", str, "remote used when -r is not given"),
    KeySpec(r"core\.jobs", parse_positive_int, "default parallelism for hashing and transfers"),
    KeySpec(r"core\.lock_timeout", parse_non_negative_float, "seconds to wait for a lock before exit 3"),
    KeySpec(r"core\.memory", checked_memory, "memory cap of out-of-core commands (4GB)"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.url", str, "remote URL (folder, file://, s3://...)"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.endpoint_url", str, "S3-compatible endpoint URL"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.region", str, "S3 region"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.profile", str, "AWS profile name"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.jobs", parse_positive_int, "parallel transfers"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.access_key_id", str, "S3 key id (config.local.yaml only)"),
    KeySpec(r"remote\.[A-Za-z0-9_.-]+\.secret_access_key", str, "S3 secret (config.local.yaml only)"),
    KeySpec(r"backend\.url", backend_url.parse_config_url, "team backend: postgresql://[user@]host[:port]/db (docs/backend.md)",
            holds_secret=backend_url.has_password),
]


def known_keys() -> list[KeySpec]:
    from mlctl.components import iter_plugins

    specs = list(CORE_KEYS)
    for _name, plugin in iter_plugins():
        specs.extend(getattr(plugin, "CONFIG_KEYS", ()))
    return specs


def find_spec(key: str) -> KeySpec:
    for spec in known_keys():
        if re.fullmatch(spec.pattern, key):
            return spec
    raise UsageError(f"unknown config key: {key}", hint="`mlctl config list --all` shows the known keys")


def is_secret(key: str) -> bool:
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def shown_value(key: str, value: Any) -> Any:
    """A value as `config list` shows it: secrets masked, a URL's password too."""
    if is_secret(key):
        return "****"
    if key == backend_url.CONFIG_KEY and isinstance(value, str):
        return backend_url.redact(value)
    return value


_parsed: dict[str, tuple[tuple, dict]] = {}  # path -> (its stat signature, its parsed map)
RACY_SECONDS = 2.0  # a file changed this recently may change again within its mtime's tick


def load_yaml_map(path: Path) -> dict:
    """The YAML map in ``path`` ({} when absent). A command reads its config many times
    (every ``get``); a file whose inode, size, mtime and ctime are unchanged, and not
    changed in the last RACY_SECONDS, is not parsed again (config writes rename a new
    file into place, so they always change the inode)."""
    import copy
    import time

    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    signature = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = _parsed.get(str(path))
    if cached is not None and cached[0] == signature:
        return copy.deepcopy(cached[1])
    data = _parse_yaml_map(path)
    if time.time() - st.st_mtime_ns / 1e9 > RACY_SECONDS:
        _parsed[str(path)] = (signature, copy.deepcopy(data))
    return data


def _parse_yaml_map(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StoreDamageError(f"{path.name} is not valid YAML: {exc}".splitlines()[0]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StoreDamageError(f"{path.name} must hold a YAML map")
    return data


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, full + "."))
        else:
            out[full] = value
    return out


def set_path(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def unset_path(data: dict, key: str) -> bool:
    parts = key.split(".")
    chain = [data]
    for part in parts[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, dict):
            return False
        chain.append(child)
    if parts[-1] not in chain[-1]:
        return False
    del chain[-1][parts[-1]]
    for depth in range(len(chain) - 1, 0, -1):  # prune maps the removal left empty
        if chain[depth]:
            break
        del chain[depth - 1][parts[depth - 1]]
    return True


class Config:
    """The merged view of config.yaml and config.local.yaml (local wins)."""

    def __init__(self, dot: Path):
        self.dot = dot
        self.shared_path = dot / "config.yaml"
        self.local_path = dot / "config.local.yaml"

    def lock(self):
        from mlctl.store.lock import FileLock

        return FileLock(self.dot / "locks" / "config.lock", what="config")

    def load(self, local: bool | None = None) -> dict:
        if local is True:
            return load_yaml_map(self.local_path)
        if local is False:
            return load_yaml_map(self.shared_path)
        merged = load_yaml_map(self.shared_path)
        for key, value in flatten(load_yaml_map(self.local_path)).items():
            set_path(merged, key, value)
        return merged

    def items(self, local: bool | None = None) -> dict[str, Any]:
        return flatten(self.load(local))

    def get(self, key: str, default: Any = None) -> Any:
        return self.items().get(key, default)

    def get_required(self, key: str) -> Any:
        find_spec(key)
        items = self.items()
        if key not in items:
            raise NotFoundError(f"config key {key} is not set")
        return items[key]

    def set(self, key: str, raw: str, local: bool = False) -> Any:
        spec = find_spec(key)
        if spec.read_only:
            raise UsageError(f"config key {key} is read-only")
        if is_secret(key) and not local:
            raise UsageError(
                f"{key} is a credential and may not go in the tracked config.yaml",
                hint="use `mlctl config set --local` or the environment",
            )
        if spec.holds_secret and spec.holds_secret(raw) and not local:
            raise UsageError(f"{key} holds a password and may not go in the tracked config.yaml: "
                             f"{backend_url.CREDENTIAL_HINT}")
        try:
            value = spec.parse(raw)
        except ValueError as exc:
            raise UsageError(f"invalid value for {key}: {raw!r} ({exc})") from None
        self.update(lambda data: set_path(data, key, value), local)
        return value

    def unset(self, key: str, local: bool = False) -> None:
        find_spec(key)
        removed = {}
        self.update(lambda data: removed.setdefault("ok", unset_path(data, key)), local)
        if not removed.get("ok"):
            raise NotFoundError(f"config key {key} is not set")

    def update(self, fn: Callable[[dict], Any], local: bool = False) -> None:
        path = self.local_path if local else self.shared_path
        with self.lock():
            data = load_yaml_map(path)
            fn(data)
            atomic_write_text(path, dump(data))


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)
