"""Turn a configured remote into a backend: a folder, S3 (with endpoint and credentials),
or any other fsspec URL. fsspec and s3fs are imported only here, when a transfer starts."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.remote_fs import FsspecBackend, LocalBackend
from mlctl.store.remotes import Remote
from mlctl.store.repo import Repo

S3_SCHEMES = ("s3", "s3a")


def split_url(url: str) -> tuple[str | None, str]:
    """("s3", "bucket/prefix") for s3://bucket/prefix; (None, path) for a plain path."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", url)
    if not match:
        return None, url
    return match.group(1).lower(), match.group(2)


def open_backend(repo: Repo, remote: Remote):
    scheme, rest = split_url(remote.url)
    if scheme in (None, "file", "local"):
        root = Path(os.path.expanduser(rest))
        return LocalBackend(root if root.is_absolute() else repo.root / root)
    if scheme in S3_SCHEMES:
        return FsspecBackend(_s3_filesystem(repo, remote), rest.strip("/"), remote.url)
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(remote.url, **remote.options)
    except (ImportError, ValueError) as exc:
        raise UsageError(f"remote {remote.name}: cannot open {remote.url}: {exc}") from None
    return FsspecBackend(fs, root, remote.url)


def s3_options(repo: Repo, remote: Remote) -> dict:
    """s3fs keyword arguments: endpoint from the remote's endpoint_url or the standard AWS
    variables; credentials from config.local.yaml, else botocore's usual chain (env,
    profile, instance role)."""
    conf = repo.config.items()
    prefix = f"remote.{remote.name}."
    options: dict = {"use_listings_cache": False, "skip_instance_cache": True}
    endpoint = (conf.get(prefix + "endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL"))
    if endpoint:
        options["endpoint_url"] = endpoint
    key, secret = conf.get(prefix + "access_key_id"), conf.get(prefix + "secret_access_key")
    if key and secret:
        options["key"], options["secret"] = key, secret
    if conf.get(prefix + "profile"):
        options["profile"] = conf[prefix + "profile"]
    region = conf.get(prefix + "region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["client_kwargs"] = {"region_name": region}
    # fail in seconds, not minutes, when the endpoint is down
    options["config_kwargs"] = {"connect_timeout": 5, "read_timeout": 60,
                                "retries": {"max_attempts": 2, "mode": "standard"}}
    return options


def _s3_filesystem(repo: Repo, remote: Remote):
    try:
        import s3fs
    except ImportError:
        raise UsageError("S3 remotes need the s3fs package",
                         hint="pip install 'mlctl[s3]'") from None
    fs = s3fs.S3FileSystem(**s3_options(repo, remote))
    fs.retries = 3  # s3fs's own retry loop (default 5) on top of botocore's
    return fs
