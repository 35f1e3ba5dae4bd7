"""The header deadline, the connection cap (idle connections shed first, then 503) and the
descriptor limit, on a real uvicorn server in a thread (the servers of `serve` and `ui`
use the same options; tests/serving/test_slow_clients.py floods the real `serve`)."""

from __future__ import annotations

import asyncio
import resource
import socket
import threading
import time

import httpx
import pytest

from mlctl.connlimits import effective_max, raise_fd_limit, uvicorn_options


async def slow_app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(1.5)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def start():
    import uvicorn

    servers = []

    def run(**options):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        config = uvicorn.Config(slow_app, lifespan="off", log_level="error", **uvicorn_options(**options))
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        servers.append((server, thread, sock))
        return f"http://127.0.0.1:{sock.getsockname()[1]}", sock.getsockname()[1]

    yield run
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_a_half_sent_header_is_closed_after_the_deadline(start):
    url, port = start(header_timeout=0.5)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    silent = socket.create_connection(("127.0.0.1", port))  # connects, sends nothing
    with httpx.Client(timeout=5) as client:
        assert client.get(url + "/").status_code == 200
        time.sleep(1.5)
        for s in [*socks, silent]:
            s.settimeout(2)
            assert s.recv(100) == b""  # closed by the server, with no answer
            s.close()
        assert client.get(url + "/").status_code == 200  # a kept-alive client is not cut off


def test_past_the_cap_idle_connections_go_first_then_503(start):
    url, port = start(max_connections=3, header_timeout=30)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    time.sleep(0.2)
    with httpx.Client(timeout=5) as client:
        assert client.get(url + "/").status_code == 200  # the idle ones made room
    for s in idle:
        s.close()
    results = []

    def slow():
        with httpx.Client(timeout=5) as c:
            results.append(c.get(url + "/slow").status_code)

    threads = [threading.Thread(target=slow) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.1)
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200, 200, 503]  # every connection busy: a clear 503


def test_descriptor_limit_is_raised_and_the_cap_stays_below_it():
    soft = raise_fd_limit()
    assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert soft == hard or hard == resource.RLIM_INFINITY
    assert effective_max(100_000, 1024) == 1024 - 128 and effective_max(50, 1024) == 50
