"""Plumbing of serve_vs_anchors.py: server processes, their CPU, and wrk as the load.

wrk is a C load generator: one thread of it drives ~20,000 req/s on loopback for a few
percent of a core, where a Python asyncio client took about as much CPU as the servers it
measured on a 2-core machine and capped what they could show.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open({path!r}, "r")
wrk.body = f:read("*a")
f:close()
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def need_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("serve_vs_anchors.py needs wrk (a C load generator): apt-get install wrk")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process (and its children), started in its own session."""

    def __init__(self, name, cmd, cwd: Path, env, path: str, body: bytes, big_body: bytes | None):
        self.name, self.cmd, self.cwd, self.env, self.path = name, cmd, cwd, env, path
        self.body, self.big_body = body, big_body
        self.proc = None
        self.port = None
        self.start_s = None
        self.lua = cwd / f"{name}.lua"

    def start(self) -> None:
        self.port = free_port()
        (self.cwd / f"{self.name}.json").write_bytes(self.body)
        self.lua.write_text(LUA.format(path=str(self.cwd / f"{self.name}.json")))
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([str(c).replace("{port}", str(self.port)) for c in self.cmd], cwd=self.cwd,
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.cwd / f"{self.name}.log", "w"), start_new_session=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.cwd / (self.name + '.log')}")
            if http_post(self.port, self.path, self.body, timeout=5)[0] == 200:
                self.start_s = time.perf_counter() - t0
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not answer within 180 s")

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def cpu_seconds(self) -> float:
        """User+system CPU of the server's live process tree."""
        tick = os.sysconf("SC_CLK_TCK")
        parent, cpu = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
        total = 0.0
        for pid, seconds in cpu.items():
            p = pid
            while p and p != self.proc.pid:
                p = parent.get(p)
            if p == self.proc.pid:
                total += seconds
        return total


def run_wrk(server: Server, concurrency: int, seconds: float, sched: str = "normal") -> dict:
    """One wrk run: throughput, latency percentiles, errors and the server's CPU per request.

    ``sched="batch"`` runs wrk under SCHED_BATCH (``chrt --batch 0``): it still gets its
    fair share of the cores, but its wake-ups no longer preempt the server. On a machine
    where the load generator shares the server's cores, every response woke wrk, which
    then preempted the worker that wrote it (~0.6 involuntary context switches a request
    with two pinned workers): a cost no client on another machine imposes."""
    cpu0 = server.cpu_seconds()
    prefix = ["chrt", "--batch", "0"] if sched == "batch" else []
    out = subprocess.run([*prefix, need_wrk(), "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--latency", "-s", str(server.lua),
                          server.url()], capture_output=True, text=True, timeout=seconds + 60).stdout
    cpu = server.cpu_seconds() - cpu0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _percentile(out, "50%"), "p99_ms": _percentile(out, "99%"),
            "errors": errors + (int(bad.group(1)) if bad else 0), "requests": requests,
            "cpu_ms_per_req": 1000 * cpu / max(requests, 1)}


def _percentile(out: str, which: str) -> float:
    found = re.search(rf"^\s+{re.escape(which)}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    return float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")


def http_post(port: int, path: str, body: bytes, timeout: float = 120) -> tuple[int, bytes]:
    """A plain HTTP/1.1 POST (Content-Length answers and chunked ones)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(head + body)
            data = b""
            while chunk := s.recv(1 << 16):
                data += chunk
    except OSError:
        return 0, b""
    if b"\r\n\r\n" not in data:
        return 0, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), rest


def big_requests_s(servers: list[Server], repeat: int = 9) -> dict[str, list[float]]:
    """Seconds of each large request (the 10,000-row body) per server, NaN where one failed.
    The servers take turns, one request each, so a VM whose speed drifts from minute to
    minute (seen: 1.5x) slows them alike instead of whichever ran in its slow minute."""
    times: dict[str, list[float]] = {s.name: [] for s in servers}
    for _ in range(repeat):
        for server in servers:
            t0 = time.perf_counter()
            status, _ = http_post(server.port, server.path, server.big_body)
            times[server.name].append(time.perf_counter() - t0 if status == 200 else float("nan"))
    return times
