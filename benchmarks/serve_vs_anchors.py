#!/usr/bin/env python3
"""`mlctl serve` against MLflow's and BentoML's model servers, on the same scikit-learn model.

    /work/venv/bin/python benchmarks/serve_vs_anchors.py [--seconds 5] [--rounds 2]

Installs each anchor into its own venv under benchmarks/.venvs/ when missing (MLflow in
.venvs/mlflow, BentoML in .venvs/bentoml), trains one model, and serves it four ways, one
worker each: `mlflow models serve --env-manager local`, a BentoML service without batching,
the same service with `batchable=True`, and `mlctl serve`. A bounded async load generator on
loopback (keep-alive connections, fixed duration) measures single-row requests at
concurrency 8 and 32, alternating the servers round by round; then one 10,000-row request
(best of 5), start-to-first-answer, and server CPU time per request. Prints a table and the
ratios the issue sets as targets. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag  # noqa: E402

PROJECT = HERE.parent
VENVS = HERE / ".venvs"
N_FEATURES = 10
ANCHORS = {"mlflow": ["mlflow", "scikit-learn"], "bentoml": ["bentoml", "scikit-learn"]}


# -- setup -------------------------------------------------------------------------------------
def ensure_venv(name: str) -> Path:
    py = VENVS / name / "bin" / "python"
    if not py.exists():
        print(f"installing {name} into {py.parent.parent} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *ANCHORS[name]], check=True)
    return py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(work: Path) -> tuple[Path, list[list[float]]]:
    """A 50-tree random forest on 10 numeric features, fitted on a numpy array."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, N_FEATURES))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0, n_jobs=1).fit(X, y)
    path = work / "model.joblib"
    joblib.dump(model, path)
    pd.DataFrame(X[:100], columns=[f"f{i}" for i in range(N_FEATURES)]).to_csv(work / "example.csv", index=False)
    return path, X[:10_000 if len(X) >= 10_000 else len(X)].tolist()


def mlctl_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return env


def setup_mlctl(work: Path, model_path: Path) -> Path:
    repo = work / "mlctl-repo"
    repo.mkdir()
    run = lambda *a: subprocess.run([sys.executable, "-m", "mlctl", *a], cwd=repo, env=mlctl_env(),  # noqa: E731
                                    check=True, capture_output=True, text=True)
    run("init")
    run("model", "register", "bench", str(model_path), "--example", str(work / "example.csv"))
    run("model", "promote", "bench:1", "--to", "production")
    return repo


def setup_mlflow(work: Path, model_path: Path, py: Path) -> Path:
    out = work / "mlflow-model"
    code = f"""
import joblib, mlflow.sklearn, numpy as np, pandas as pd
from mlflow.models import infer_signature
m = joblib.load({str(model_path)!r})
X = pd.read_csv({str(work / 'example.csv')!r})
mlflow.sklearn.save_model(m, {str(out)!r}, signature=infer_signature(X, m.predict(X.to_numpy())),
                         skops_trusted_types=["sklearn.tree._tree.Tree"])
"""
    subprocess.run([str(py), "-c", code], check=True, capture_output=True)
    return out


BENTO_SERVICE = """
import bentoml, joblib, numpy as np

MODEL = {model!r}

@bentoml.service(workers=1)
class Plain:
    def __init__(self):
        self.model = joblib.load(MODEL)

    @bentoml.api
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)


@bentoml.service(workers=1)
class Batched:
    def __init__(self):
        self.model = joblib.load(MODEL)

    @bentoml.api(batchable=True)
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)
"""


# -- servers -----------------------------------------------------------------------------------
class Server:
    def __init__(self, name, cmd, cwd, env, path, make_body, make_big_body=None):
        self.name, self.cmd, self.cwd, self.env, self.path = name, cmd, cwd, env, path
        self.make_body = make_body
        self.make_big_body = make_big_body or make_body  # the 10,000-row request
        self.proc = None
        self.port = None
        self.start_s = None

    def start(self, port: int, one_row: list[float]) -> None:
        self.port = port
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([str(c).replace("{port}", str(port)) for c in self.cmd], cwd=self.cwd,
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.cwd / f"{self.name}.log", "w"),
                                     start_new_session=True)
        body = self.make_body([one_row])
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.cwd / (self.name + '.log')}")
            status, _ = http_post(port, self.path, body)
            if status == 200:
                self.start_s = time.perf_counter() - t0
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not answer within 120 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def cpu_seconds(self) -> float:
        """User+system CPU of the server's whole process tree (live processes)."""
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
        for pid in cpu:
            p = pid
            while p and p != self.proc.pid:
                p = parent.get(p)
            if p == self.proc.pid:
                total += cpu[pid]
        return total


def http_post(port: int, path: str, body: bytes, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request_bytes(path, body, port))
            return read_response_blocking(s)
    except OSError:
        return 0, b""


def request_bytes(path: str, body: bytes, port: int) -> bytes:
    # the Host a browser or HTTP client sends: with the port (a loopback server refuses others)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def read_response_blocking(s) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return 0, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status, length, chunked = parse_head(head)
    if chunked:
        while not rest.endswith(b"0\r\n\r\n"):
            rest += s.recv(65536)
        return status, dechunk(rest)
    while len(rest) < length:
        rest += s.recv(65536)
    return status, rest[:length]


def parse_head(head: bytes) -> tuple[int, int, bool]:
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, chunked = 0, False
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            length = int(v)
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    return status, length, chunked


def dechunk(data: bytes) -> bytes:
    out, i = b"", 0
    while True:
        j = data.index(b"\r\n", i)
        size = int(data[i:j], 16)
        if size == 0:
            return out
        out += data[j + 2:j + 2 + size]
        i = j + 2 + size + 2


# -- the load generator ------------------------------------------------------------------------
async def one_connection(port, payload, stop_at, latencies, errors):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        errors.append("connect")
        return
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, chunked = parse_head(head[:-4])
            if chunked:
                body = b""
                while not body.endswith(b"0\r\n\r\n"):
                    body += await reader.read(65536)
            else:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        errors.append(type(exc).__name__)
    finally:
        writer.close()


async def load(port: int, payload: bytes, concurrency: int, seconds: float):
    latencies, errors = [], []
    stop_at = time.perf_counter() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(one_connection(port, payload, stop_at, latencies, errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    return latencies, errors, elapsed


def measure(server: Server, concurrency: int, seconds: float, one_row) -> dict:
    payload = request_bytes(server.path, server.make_body([one_row]), server.port)
    asyncio.run(load(server.port, payload, concurrency, 0.5))  # warm up
    cpu0 = server.cpu_seconds()
    latencies, errors, elapsed = asyncio.run(load(server.port, payload, concurrency, seconds))
    cpu = server.cpu_seconds() - cpu0
    lat = sorted(latencies)
    n = len(lat)
    return {"rps": n / elapsed, "p50_ms": 1000 * lat[n // 2] if n else float("nan"),
            "p99_ms": 1000 * lat[min(n - 1, int(n * 0.99))] if n else float("nan"),
            "errors": len(errors), "requests": n, "cpu_ms_per_req": 1000 * cpu / max(n, 1)}


def library_import_s() -> float:
    """What any server pays before it can unpickle the model: importing sklearn.ensemble."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sklearn.ensemble"], check=True)
    return time.perf_counter() - t0


def big_request(server: Server, rows, make_body=None) -> float:
    body = (make_body or server.make_big_body)(rows)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        status, _ = http_post(server.port, server.path, body)
        if status != 200:
            return float("nan")
        times.append(time.perf_counter() - t0)
    return min(times)


# -- main --------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="load duration per measurement")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best is kept")
    ap.add_argument("--only", nargs="*", help="servers to run (mlflow, bentoml, bentoml-batched, mlctl)")
    add_smoke_flag(ap)
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.rounds, args.only = 0.5, 1, ["mlctl"]
    wanted = set(args.only or ["mlflow", "bentoml", "bentoml-batched", "mlctl"])
    mlflow_py = ensure_venv("mlflow") if "mlflow" in wanted else None
    bento_py = ensure_venv("bentoml") if wanted & {"bentoml", "bentoml-batched"} else None
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    model_path, X = train(work)
    rows = (X * (10_000 // len(X) + 1))[:10_000]
    one_row = X[0]
    cols = [f"f{i}" for i in range(N_FEATURES)]
    repo = setup_mlctl(work, model_path) if "mlctl" in wanted else work
    mlflow_model = setup_mlflow(work, model_path, mlflow_py) if mlflow_py else None
    (work / "service.py").write_text(textwrap.dedent(BENTO_SERVICE.format(model=str(model_path))))
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    bento_env = dict(base_env, BENTOML_HOME=str(work / "bentoml-home"), BENTOML_DO_NOT_TRACK="true")
    bento_body = lambda r: json.dumps({"input": r}).encode()  # noqa: E731
    records_body = lambda r: json.dumps({"instances": [dict(zip(cols, x)) for x in r]}).encode()  # noqa: E731
    servers = []
    if mlflow_py:
        servers.append(Server("mlflow", [mlflow_py.parent / "mlflow", "models", "serve", "-m", mlflow_model,
                                         "--env-manager", "local", "--host", "127.0.0.1", "-p", "{port}"], work,
                              dict(base_env, PATH=f"{mlflow_py.parent}{os.pathsep}{base_env.get('PATH', '')}"),
                              "/invocations",
                              lambda r: json.dumps({"dataframe_split": {"columns": cols, "data": r}}).encode()))
    if bento_py:
        servers += [
            Server("bentoml", [bento_py.parent / "bentoml", "serve", "service:Plain", "--host", "127.0.0.1", "--port",
                               "{port}"], work, bento_env, "/predict", bento_body),
            Server("bentoml-batched", [bento_py.parent / "bentoml", "serve", "service:Batched", "--host", "127.0.0.1",
                                       "--port", "{port}"], work, bento_env, "/predict", bento_body),
        ]
    servers.append(Server("mlctl", [sys.executable, "-m", "mlctl", "serve", "bench@production", "--port", "{port}"],
                          repo, mlctl_env(), "/predict", records_body,
                          # rows as lists in signature order: the same payload shape BentoML gets
                          lambda r: json.dumps({"instances": r}).encode()))
    servers = [s for s in servers if s.name in wanted]
    results = {s.name: {} for s in servers}
    try:
        for s in servers:  # one at a time, so start-up is measured on a quiet machine
            floor = library_import_s()
            s.start(free_port(), one_row)
            results[s.name]["start_s"] = s.start_s
            results[s.name]["sklearn_import_s"] = floor
            print(f"{s.name}: first answer after {s.start_s:.2f} s (importing the model's library "
                  f"alone: {floor:.2f} s)", file=sys.stderr)
        for rnd in range(args.rounds):
            for conc in (8, 32):
                for s in servers:
                    r = measure(s, conc, args.seconds, one_row)
                    print(f"round {rnd + 1} c={conc} {s.name}: {r['rps']:.0f} req/s p99 {r['p99_ms']:.1f} ms "
                          f"errors {r['errors']} cpu {r['cpu_ms_per_req']:.2f} ms/req", file=sys.stderr)
                    best = results[s.name].get(conc)
                    if best is None or r["rps"] > best["rps"]:
                        results[s.name][conc] = r
        for s in servers:
            results[s.name]["big_s"] = big_request(s, rows)
            if s.name == "mlctl":
                results[s.name]["big_records_s"] = big_request(s, rows, records_body)
    finally:
        for s in servers:
            s.stop()
    report(results)
    print(f"\nload average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work on the machine inflates every server's latency alike)")
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    (WORK_ROOT / "serve_vs_anchors.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


def report(results: dict) -> None:
    print("| server | c=8 req/s | c=8 p99 ms | c=32 req/s | c=32 p99 ms | errors@32 | CPU ms/req @32 | 10k rows s | start s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        c8, c32 = r.get(8, {}), r.get(32, {})
        print(f"| {name} | {c8.get('rps', 0):.0f} | {c8.get('p99_ms', 0):.1f} | {c32.get('rps', 0):.0f} | "
              f"{c32.get('p99_ms', 0):.1f} | {c32.get('errors', '-')} | {c32.get('cpu_ms_per_req', 0):.2f} | "
              f"{r.get('big_s', float('nan')):.3f} | {r.get('start_s', float('nan')):.2f} |")
    if "big_records_s" in results.get("mlctl", {}):
        print(f"\nmlctl 10,000-row request as {{\"instances\": [{{column: value}}, ...]}} records: "
              f"{results['mlctl']['big_records_s']:.3f} s (the table uses rows as lists, like BentoML's input)")
    if not {"mlctl", "bentoml-batched", "mlflow", "bentoml"} <= set(results):
        return
    m, bb, mf, b = (results[k] for k in ("mlctl", "bentoml-batched", "mlflow", "bentoml"))
    print()
    print("| target | value | goal | met |")
    print("| --- | --- | --- | --- |")
    rows = []
    for c in (8, 32):
        rows.append((f"throughput vs BentoML batched, c={c}", m[c]["rps"] / bb[c]["rps"], ">= 1.5", m[c]["rps"] / bb[c]["rps"] >= 1.5))
        rows.append((f"throughput vs MLflow, c={c}", m[c]["rps"] / mf[c]["rps"], ">= 10", m[c]["rps"] / mf[c]["rps"] >= 10))
        rows.append((f"p99 vs BentoML batched, c={c}", m[c]["p99_ms"] / bb[c]["p99_ms"], "<= 0.5", m[c]["p99_ms"] / bb[c]["p99_ms"] <= 0.5))
    rows.append(("errors at c=32", m[32]["errors"], "0", m[32]["errors"] == 0))
    rows.append(("10,000-row request vs BentoML unbatched", m["big_s"] / b["big_s"], "<= 1.0", m["big_s"] <= b["big_s"]))
    rows.append(("start to first answer", f"{m['start_s']:.2f} s", "< 2 s", m["start_s"] < 2))
    rows.append(("start beyond importing sklearn.ensemble", f"{m['start_s'] - m['sklearn_import_s']:.2f} s",
                 "(overhead of mlctl itself)", True))
    for name, value, goal, ok in rows:
        print(f"| {name} | {value:.2f}x | {goal} | {'yes' if ok else 'NO'} |" if isinstance(value, float)
              else f"| {name} | {value} | {goal} | {'yes' if ok else 'NO'} |")


if __name__ == "__main__":
    sys.exit(main())
