"""Listening sockets for the model server and the dashboard, with user-facing errors."""

from __future__ import annotations

import errno
import socket

from mlctl.errors import UsageError


def bind_listener(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening, inheritable socket (workers share it), or a clear UsageError for a
    port in use or an address that does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot bind {host}: {exc.strerror}", hint="give --host an address such as 127.0.0.1") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use", hint="choose another with --port") from None
        raise UsageError(f"cannot bind {host}:{port}: {exc.strerror}") from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock
