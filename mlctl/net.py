"""Listening sockets for the model server and the dashboard, with user-facing errors."""

from __future__ import annotations

import errno
import socket
import sys

from mlctl.errors import UsageError


def bind_listener(host: str, port: int, backlog: int = 128, reuse_port: bool = False) -> socket.socket:
    """A listening, inheritable socket (workers share it), or a clear UsageError for a
    port in use or an address that does not resolve. ``reuse_port``: one of a group that
    shares the port (see bind_listeners)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot bind {host}: {exc.strerror}", hint="give --host an address such as 127.0.0.1") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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


def bind_listeners(host: str, port: int, count: int, backlog: int = 128) -> list[socket.socket]:
    """``count`` listening sockets on one port, one per worker, so that the kernel spreads
    new connections over the workers (Linux's SO_REUSEPORT hashes each to one socket).

    With one shared socket the worker that woke first accepted every pending connection
    (uvloop accepts until none is left): a client that opened its 32 keep-alive
    connections at once had all 32 served by one of two workers in some runs, the other
    idle. Elsewhere (macOS and the BSDs give a SO_REUSEPORT port to the last socket
    bound, not to all) and for one worker: one shared socket, as before.

    The port is first bound by a plain socket and released: a port that anything holds,
    another mlctl serve's group included, stays an error instead of a silent share."""
    if count <= 1 or not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        return [bind_listener(host, port, backlog)] * max(count, 1)
    probe = bind_listener(host, port, backlog)
    port = probe.getsockname()[1]
    probe.close()
    group: list[socket.socket] = []
    try:
        for _ in range(count):
            group.append(bind_listener(host, port, backlog, reuse_port=True))
    except BaseException:
        for sock in group:
            sock.close()
        raise
    return group


# -- the Host check that defeats DNS rebinding ------------------------------------------------
# A web page on attacker.example can make the browser resolve its own name to 127.0.0.1
# and then read a loopback server as if it were same-origin; the browser still sends
# ``Host: attacker.example``. So a server bound to loopback answers only requests whose
# Host is a literal loopback address or ``localhost``, with the server's port.

LOOPBACK_NAMES = frozenset({"localhost", "::1"})


def is_loopback(host: str) -> bool:
    """True for a bind address (or Host name) that only this machine can reach:
    ``localhost``, ``::1``/``[::1]`` or a dotted quad in 127.0.0.0/8."""
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host in LOOPBACK_NAMES or _loopback_quad(host)


def _loopback_quad(host: str) -> bool:
    parts = host.split(".")
    if len(parts) != 4 or parts[0] != "127":
        return False
    # strict decimal: no leading zeros (0177 is octal to some resolvers), no signs, 0..255
    return all(p.isdigit() and p.isascii() and str(int(p)) == p and int(p) <= 255 for p in parts)


class HostCheck:
    """Which ``Host`` header values a loopback-bound server on ``port`` answers.

    The usual values are precomputed as raw header bytes, so the check on a server's hot
    path is one frozenset lookup; anything else (another 127.x.y.z, upper case) is parsed.
    A request without a Host header is answered: no browser sends one."""

    def __init__(self, port: int):
        self.port = port
        names = ["localhost", "127.0.0.1", "[::1]"]
        values = [f"{name}:{port}" for name in names] + (names if port == 80 else [])
        self.fast = frozenset(v.encode() for v in values)

    def allows(self, value: bytes | None) -> bool:
        if value is None or value in self.fast:
            return True
        return self._parse(value.decode("latin-1"))

    def _parse(self, value: str) -> bool:
        host, port = _split_host(value)
        if port is None:
            if self.port != 80:
                return False
        elif port != str(self.port):
            return False
        if host.startswith("["):
            return host.lower() == "[::1]"
        return host.lower() == "localhost" or _loopback_quad(host)


def _split_host(value: str) -> tuple[str, str | None]:
    """``[::1]:5000`` -> (``[::1]``, ``5000``); ``localhost`` -> (``localhost``, None)."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, ""  # unbalanced: matches nothing
        rest = value[end + 1:]
        if not rest:
            return value, None
        return value[:end + 1], rest[1:] if rest.startswith(":") else ""
    host, sep, port = value.rpartition(":")
    return (host, port) if sep else (value, None)


def host_check(bind_host: str, port: int) -> HostCheck | None:
    """The Host check for a server bound to ``bind_host``: None (any Host) unless loopback."""
    return HostCheck(port) if is_loopback(bind_host) else None


def host_header(headers) -> bytes | None:
    """The raw Host value of ASGI ``headers`` (first one; usually the first header)."""
    for name, value in headers:
        if name == b"host":
            return value
    return None


MISDIRECTED = b'{"error": "this server answers only Host: localhost or a loopback address with its port"}'
