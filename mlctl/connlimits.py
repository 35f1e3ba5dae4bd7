"""What keeps many or slow clients from taking `mlctl serve` and `mlctl ui` down.

uvicorn has a keep-alive timeout (after a response) and ``limit_concurrency`` (a 503 once
a request's headers are in), but no deadline for the headers themselves: a client that
sends half a request header holds its connection, and a file descriptor, forever. 20,000
of them used to exhaust the server's descriptors so that no new request got an answer.
So the servers run uvicorn with a protocol subclass that adds:

- a **header deadline**: a connection must deliver a whole request header within
  ``header_timeout`` seconds of connecting (or of its first byte after a response), else
  it is closed;
- a **connection cap** that sheds idle connections first: past ``max_connections``, a new
  connection closes the oldest connection that is not in the middle of a request (a
  half-sent header, an idle keep-alive), so a real client is still answered while a
  flood of half-open sockets is held open; when every connection is busy with a request,
  uvicorn answers 503 (``limit_concurrency``).

and the process's open-file soft limit is raised to its hard limit at start, with the cap
kept below it.
"""

from __future__ import annotations

import resource

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 15.0
MAX_CONNECTIONS = 4096
FD_HEADROOM = 128  # descriptors kept for the store, logs, the listening socket, models


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def effective_max(max_connections: int, fd_limit: int) -> int:
    """The cap actually used: below the descriptor limit, whatever was asked."""
    return max(1, min(max_connections, fd_limit - FD_HEADROOM))


def uvicorn_options(max_connections: int = MAX_CONNECTIONS, header_timeout: float = HEADER_TIMEOUT_S,
                    keep_alive: float = KEEP_ALIVE_S) -> dict:
    """Keyword arguments for ``uvicorn.Config``; call once per server process."""
    cap = effective_max(max_connections, raise_fd_limit())
    return {"http": protocol_class(cap, header_timeout), "limit_concurrency": cap + 1,
            "timeout_keep_alive": keep_alive}


# the closure class's methods count toward this function's complexity, hence the noqa
def protocol_class(max_connections: int, header_timeout: float):  # noqa: C901
    """uvicorn's HTTP protocol (httptools or h11) with the header deadline and the cap."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    idle: dict = {}  # connections between requests, oldest first (dicts keep insertion order)

    class Guarded(AutoHTTPProtocol):
        _deadline = None  # the header timer
        _seen = None  # the request cycle current when we last looked

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            idle[self] = None
            if len(self.connections) > max_connections:
                _shed_oldest(idle, keep=self)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            cycle = self.cycle
            if cycle is not self._seen:  # a whole request header arrived: it is busy now
                self._seen = cycle
                self._disarm()
                idle.pop(self, None)
            elif self._deadline is None and (cycle is None or cycle.response_complete):
                self._arm()  # the first bytes of a next request: its header has a deadline too

        def on_response_complete(self) -> None:
            super().on_response_complete()
            idle[self] = None

        def connection_lost(self, exc) -> None:
            self._disarm()
            idle.pop(self, None)
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(header_timeout, self._header_late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _header_late(self) -> None:
            self._deadline = None
            if self.cycle is self._seen and not self.transport.is_closing():
                self.transport.close()

    return Guarded


def _shed_oldest(idle: dict, keep) -> None:
    for conn in idle:
        if conn is not keep:
            del idle[conn]
            conn.connections.discard(conn)  # now, not when the loop reports it lost: the
            conn.transport.close()  # next accept and the 503 check must not count it
            return
