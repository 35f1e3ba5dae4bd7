"""Thousands of half-sent request headers (slowloris) on a real `mlctl serve`: real
requests are still answered while they are held, and the server closes them after the
header deadline (before, they were held forever, and 20,000 exhausted the server's file
descriptors)."""

from __future__ import annotations

import resource
import socket
import time

import httpx

from tests.serving.conftest import row

HEADER_TIMEOUT = 2.0


def half_open(port: int, count: int) -> list[socket.socket]:
    partial = f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: appl".encode()
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(partial)
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False  # still open, nothing sent
    except ConnectionResetError:
        return True


def test_half_open_connections_neither_block_requests_nor_stay(serve, churn):
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = max(100, min(2500, soft - 300))  # within this test process's own descriptor limit
    server = serve("churn", "--header-timeout", HEADER_TIMEOUT, "--max-connections", count // 2)
    socks = half_open(server.port, count)
    opened = time.monotonic()
    try:
        time.sleep(0.5)  # let the server accept the flood (the kernel completed the connects)
        for i in range(10):  # past the cap the oldest idle connections are shed, not a new one
            with httpx.Client(base_url=server.url, timeout=10) as fresh:
                res = fresh.post("/predict", json={"instances": [row(age=20 + i)]})
            assert res.status_code == 200, res.text
        time.sleep(max(0.0, opened + HEADER_TIMEOUT + 2.0 - time.monotonic()))
        still_open = [s for s in socks if not closed_by_server(s)]
        assert still_open == [], f"{len(still_open)} of {count} half-open connections still open"
        with httpx.Client(base_url=server.url, timeout=10) as fresh:
            assert fresh.post("/predict", json={"instances": [row()]}).status_code == 200
    finally:
        for s in socks:
            s.close()


def test_limits_are_checked(cli, repo):
    for flag, value in (("--max-connections", "0"), ("--header-timeout", "0"), ("--keep-alive-timeout", "-1")):
        res = cli("serve", "m", flag, value)
        assert res.exit_code == 2 and flag.lstrip("-").split("-")[0] in res.stderr, res.stderr
