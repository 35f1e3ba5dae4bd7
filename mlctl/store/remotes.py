"""Remote definitions in config (``remote.<name>.url``); transfers live with their users."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlctl.errors import NotFoundError, UsageError
from mlctl.store.config import set_path, unset_path
from mlctl.store.repo import Repo

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# fsspec protocols a team would share a store through; checked without importing fsspec
KNOWN_SCHEMES = {
    "file", "local", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "hdfs",
    "webhdfs", "ssh", "sftp", "memory", "http", "https", "oss", "ftp",
}


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    options: dict
    default: bool = False

    def to_json(self) -> dict:
        return {"name": self.name, "url": self.url, "default": self.default, "options": self.options}


def check_url(url: str) -> str:
    if not url.strip():
        raise UsageError("remote URL is empty")
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if match:
        scheme = match.group(1).lower()
        if scheme not in KNOWN_SCHEMES:
            raise UsageError(
                f"unknown remote URL scheme {scheme}://",
                hint="use a folder path, file://, s3://bucket/prefix, or another fsspec protocol",
            )
        if scheme in ("s3", "s3a", "gs", "gcs", "az", "abfs") and not url.split("://", 1)[1].strip("/"):
            raise UsageError(f"remote URL {url} names no bucket")
    return url


def list_remotes(repo: Repo) -> list[Remote]:
    conf = repo.config.load()
    default = conf.get("core", {}).get("default_remote")
    remotes = conf.get("remote", {}) or {}
    out = []
    for name in sorted(remotes):
        opts = dict(remotes[name] or {})
        url = opts.pop("url", "")
        safe = {k: v for k, v in opts.items() if "secret" not in k and "key" not in k}
        out.append(Remote(name, url, safe, default=(name == default)))
    return out


def get_remote(repo: Repo, name: str | None = None) -> Remote:
    remotes = {r.name: r for r in list_remotes(repo)}
    if name is None:
        default = [r for r in remotes.values() if r.default]
        if default:
            return default[0]
        if len(remotes) == 1:
            return next(iter(remotes.values()))
        if not remotes:
            raise UsageError("no remote configured", hint="run `mlctl remote add NAME URL --default`")
        raise UsageError("several remotes and no default", hint="pass -r NAME or `mlctl remote add ... --default`")
    if name not in remotes:
        raise NotFoundError(f"unknown remote: {name}", hint="`mlctl remote list` shows them")
    return remotes[name]


def add_remote(repo: Repo, name: str, url: str, default: bool = False, force: bool = False) -> Remote:
    if not NAME_RE.match(name):
        raise UsageError(f"invalid remote name: {name!r}")
    check_url(url)

    def apply(data: dict) -> None:
        if not force and name in (data.get("remote") or {}):
            raise UsageError(f"remote {name} already exists", hint="use --force to replace it")
        set_path(data, f"remote.{name}.url", url)
        if default:
            set_path(data, "core.default_remote", name)

    repo.config.update(apply)
    return get_remote(repo, name)


def remove_remote(repo: Repo, name: str) -> None:
    def apply(data: dict) -> None:
        if name not in (data.get("remote") or {}):
            raise NotFoundError(f"unknown remote: {name}", hint="`mlctl remote list` shows them")
        del data["remote"][name]
        if not data["remote"]:
            del data["remote"]
        if data.get("core", {}).get("default_remote") == name:
            unset_path(data, "core.default_remote")

    repo.config.update(apply)
