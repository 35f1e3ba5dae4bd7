"""A Ray cluster's address as mlctl takes it: ``HOST:PORT`` (the head's GCS port),
``ray://HOST:PORT`` (Ray Client), ``auto`` (the cluster running on this machine) or
nothing (Ray's own choice). Checked when configured and before a run, not by Ray: a
malformed one is a usage error at once."""

from __future__ import annotations

from mlctl.errors import UsageError

SPECIAL = ("auto", "local")


def split_address(address: str) -> tuple[str, str]:
    """(host, port) of ``HOST:PORT`` or ``ray://HOST:PORT``; a usage error otherwise."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise UsageError(f"invalid Ray address {address!r}", hint="use HOST:PORT, ray://HOST:PORT or auto")
    return host, port


def check_address(address: str) -> str:
    """A config value for ``pipeline.ray_address``."""
    if address not in SPECIAL:
        try:
            split_address(address)
        except UsageError:
            raise ValueError("expected HOST:PORT, ray://HOST:PORT or auto") from None
    return address
