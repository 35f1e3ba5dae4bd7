"""The demo's serving step: a real `mlctl serve` process, real HTTP requests, a clean stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from mlctl.errors import MlctlError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoServer:
    """`mlctl serve MODEL --log-predictions` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, root, env, model: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["serve", model, "--port", str(self.port), "--log-predictions", "--log-flush-s", "1"]
        self.proc = subprocess.Popen([sys.executable, "-m", "mlctl", *self.args], cwd=root, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait_ready(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MlctlError(f"demo server exited: {self.proc.stderr.read().strip()[-300:]}")
            try:
                return self.get("/metadata")
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise MlctlError("demo server did not become ready in time")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def predict(self, rows: list[dict], request_id: str) -> dict:
        body = json.dumps({"instances": rows}).encode()
        req = urllib.request.Request(self.url + "/predict", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Request-ID": request_id})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.proc.stderr.close()  # the pipe wait_ready reads from on a failed start
