#!/usr/bin/env python3
"""`mlctl serve` against the bare framework's ceiling, BentoML and MLflow, on two models.

    .venv/bin/python benchmarks/serve_vs_anchors.py [--seconds 5] [--rounds 6] [--models logreg forest]
    .venv/bin/python benchmarks/serve_vs_anchors.py --load-sched batch --only ceiling ceiling-w2 mlctl mlctl-w2

Two scikit-learn models fitted on breast-cancer (30 numeric columns, as a DataFrame): a
cheap one (StandardScaler + LogisticRegression, ~0.3 ms a call) and a heavy one (a
300-tree random forest, ~15-30 ms a call). ``--models dummy`` adds a model that costs
nothing (a DummyClassifier, ~10 µs a call): what mlctl's own HTTP path and batching reach,
and how they scale over workers, without the model's per-call cost. Each is served, one
worker each, by:

- ``ceiling``: a bare Starlette + uvicorn (uvloop, httptools) app that parses the body
  with orjson and answers a constant: what any server on this stack can reach
  (``ceiling-w2``: the same with two workers, what two workers can reach beside wrk);
- ``mlctl`` (``--log-predictions``), ``mlctl-nolog`` (without it), ``mlctl-w2``
  (``--workers 2 --log-predictions``), ``mlctl-nolog-w2`` (``--workers 2``);
- ``bentoml-batched`` (``batchable=True``) and ``bentoml`` (plain), and ``mlflow``
  (``mlflow models serve``), each installed in its own venv under benchmarks/.venvs/.

Load is wrk (``-t1``, keep-alive, single-row ``POST``) at concurrency 8 and 32, in rounds
that alternate the servers so noise hits all alike (``--load-sched batch``: wrk under
SCHED_BATCH, so that its wake-ups do not preempt the server it shares the cores with).
Every round is reported (median and range, never the best), with each server's CPU per
request (its whole process tree); then the 10,000-row request (the servers taking turns,
nine each; the median) and start-to-first-answer. The targets of issue 24 are checked at
the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag, anchor_venv, mlctl_env  # noqa: E402
from _serve_load import Server, big_requests_s, need_wrk, run_wrk  # noqa: E402

CONCURRENCY = (8, 32)
MODELS = ("logreg", "forest", "dummy")  # dummy: ~10 µs a call, what the HTTP path scales to

CEILING_APP = """
import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def predict(request):
    orjson.loads(await request.body())
    return Response(b'{"predictions":[0]}', media_type="application/json")

app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
"""

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


# -- models ------------------------------------------------------------------------------------
def train(work: Path, kind: str) -> tuple[Path, list[str], list[list[float]]]:
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" ", "_") for c in X.columns]
    if kind == "dummy":
        from sklearn.dummy import DummyClassifier

        model = DummyClassifier().fit(X, y)
    elif kind == "logreg":
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    else:
        model = RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1).fit(X, y)
    folder = work / kind
    folder.mkdir()
    joblib.dump(model, folder / "model.joblib")
    X.head(100).to_csv(folder / "example.csv", index=False)
    return folder / "model.joblib", list(X.columns), X.to_numpy().tolist()


def setup_mlctl(work: Path, models: dict) -> Path:
    repo = work / "mlctl-repo"
    repo.mkdir()

    def run(*args):
        subprocess.run([sys.executable, "-m", "mlctl", *args], cwd=repo, env=mlctl_env(), check=True,
                       capture_output=True, text=True)

    run("init")
    for kind, (path, _cols, _rows) in models.items():
        run("model", "register", kind, str(path), "--example", str(path.parent / "example.csv"))
        run("model", "promote", f"{kind}:1", "--to", "production")
    return repo


def setup_mlflow(folder: Path, model_path: Path, bin_dir: Path) -> Path:
    out = folder / "mlflow-model"
    code = f"""
import joblib, mlflow.sklearn, pandas as pd
from mlflow.models import infer_signature
m = joblib.load({str(model_path)!r})
X = pd.read_csv({str(folder / 'example.csv')!r})
mlflow.sklearn.save_model(m, {str(out)!r}, signature=infer_signature(X, m.predict(X)),
                         serialization_format="cloudpickle")
"""
    subprocess.run([str(bin_dir / "python"), "-c", code], check=True, capture_output=True)
    return out


# -- servers -----------------------------------------------------------------------------------
def servers_for(kind: str, model, work: Path, repo: Path, anchors: dict, wanted: set) -> list[Server]:
    path, cols, rows = model
    folder = path.parent
    one, big = rows[:1], (rows * (10_000 // len(rows) + 1))[:10_000]
    as_lists = lambda r: json.dumps({"instances": r}).encode()  # noqa: E731
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    mlctl = [sys.executable, "-m", "mlctl", "serve", f"{kind}@production", "--port", "{port}", "-q"]
    ceiling = [sys.executable, "-m", "uvicorn", "ceiling:app", "--port", "{port}", "--loop", "uvloop", "--http",
               "httptools", "--no-access-log", "--log-level", "warning"]
    out = [Server("ceiling", ceiling, work, base_env, "/predict", as_lists(one), None),
           Server("ceiling-w2", ceiling + ["--workers", "2"], work, base_env, "/predict", as_lists(one), None),
           Server("mlctl", mlctl + ["--log-predictions"], repo, mlctl_env(), "/predict", as_lists(one), as_lists(big)),
           Server("mlctl-nolog", mlctl, repo, mlctl_env(), "/predict", as_lists(one), as_lists(big)),
           Server("mlctl-w2", mlctl + ["--workers", "2", "--log-predictions"], repo, mlctl_env(), "/predict",
                  as_lists(one), as_lists(big)),
           Server("mlctl-nolog-w2", mlctl + ["--workers", "2"], repo, mlctl_env(), "/predict", as_lists(one),
                  as_lists(big))]
    if "bentoml" in anchors:
        (folder / "service.py").write_text(textwrap.dedent(BENTO_SERVICE.format(model=str(path))))
        env = dict(base_env, BENTOML_HOME=str(work / "bentoml-home"), BENTOML_DO_NOT_TRACK="true")
        bento = lambda r: json.dumps({"input": r}).encode()  # noqa: E731
        for name, service in (("bentoml-batched", "Batched"), ("bentoml", "Plain")):
            out.append(Server(name, [anchors["bentoml"] / "bentoml", "serve", f"service:{service}", "--host",
                                     "127.0.0.1", "--port", "{port}"], folder, env, "/predict", bento(one), bento(big)))
    if "mlflow" in anchors:
        model_dir = setup_mlflow(folder, path, anchors["mlflow"])
        split = lambda r: json.dumps({"dataframe_split": {"columns": cols, "data": r}}).encode()  # noqa: E731
        env = dict(base_env, PATH=f"{anchors['mlflow']}{os.pathsep}{base_env.get('PATH', '')}")
        out.append(Server("mlflow", [anchors["mlflow"] / "mlflow", "models", "serve", "-m", model_dir, "--env-manager",
                                     "local", "--host", "127.0.0.1", "-p", "{port}"], folder, env, "/invocations",
                          split(one), split(big)))
    return [s for s in out if s.name in wanted]


def measure_model(kind: str, servers: list[Server], rounds: int, seconds: float, sched: str) -> dict:
    results = {s.name: {"rounds": {c: [] for c in CONCURRENCY}} for s in servers}
    try:
        for s in servers:  # one at a time, so start-up is measured on a quiet machine
            s.start()
            results[s.name]["start_s"] = s.start_s
            run_wrk(s, 32, 2, sched)  # warm-up: first-call caches, the batch cap's estimates
            print(f"{kind}/{s.name}: first answer after {s.start_s:.2f} s", file=sys.stderr)
        for rnd in range(rounds):
            for conc in CONCURRENCY:
                for s in servers:
                    r = run_wrk(s, conc, seconds, sched)
                    results[s.name]["rounds"][conc].append(r)
                    print(f"{kind} round {rnd + 1} c={conc} {s.name}: {r['rps']:.0f} req/s p99 {r['p99_ms']:.2f} ms "
                          f"cpu {r['cpu_ms_per_req']:.3f} ms/req errors {r['errors']}", file=sys.stderr)
        big = big_requests_s([s for s in servers if s.big_body is not None])
        for name, times in big.items():
            results[name]["big_times_s"] = times
            # a failed request makes the figure NaN, as before, rather than a median of the rest
            results[name]["big_s"] = statistics.median(times) if all(t == t for t in times) else float("nan")
    finally:
        for s in servers:
            s.stop()
    return results


# -- report ------------------------------------------------------------------------------------
def median(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def big_range(r: dict) -> str:
    times = r.get("big_times_s")
    return f"{r['big_s']:.3f} ({min(times):.3f}-{max(times):.3f})" if times else "-"


def report_model(kind: str, results: dict) -> list[tuple]:
    print(f"\n### {kind}\n")
    print("| server | c=8 req/s: median (range) | c=8 p99 ms | c=32 req/s: median (range) | c=32 p99 ms "
          "| CPU ms/req @32: median (max) | errors | 10k rows s: median (range) | start s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        c8, c32 = r["rounds"][8], r["rounds"][32]
        errors = sum(x["errors"] for c in CONCURRENCY for x in r["rounds"][c])
        print(f"| {name} | {median(c8, 'rps'):,.0f} ({min(x['rps'] for x in c8):,.0f}-{max(x['rps'] for x in c8):,.0f}) "
              f"| {median(c8, 'p99_ms'):.2f} | {median(c32, 'rps'):,.0f} ({min(x['rps'] for x in c32):,.0f}-"
              f"{max(x['rps'] for x in c32):,.0f}) | {median(c32, 'p99_ms'):.2f} | {median(c32, 'cpu_ms_per_req'):.3f} "
              f"({max(x['cpu_ms_per_req'] for x in c32):.3f}) | {errors} | {big_range(r)} "
              f"| {r['start_s']:.2f} |")
    for conc in CONCURRENCY:
        print(f"\nc={conc}, req/s by round: " + "; ".join(
            f"{name} " + " / ".join(f"{x['rps']:,.0f}" for x in r["rounds"][conc]) for name, r in results.items()))
    return targets(kind, results)


def targets(kind: str, res: dict) -> list[tuple]:
    rows = []
    if {"mlctl-nolog", "mlctl-nolog-w2"} <= set(res):  # the workers without the log's thread
        ratio = median(res["mlctl-nolog-w2"]["rounds"][32], "rps") / median(res["mlctl-nolog"]["rounds"][32], "rps")
        rows.append((kind, "c=32 --workers 2 / one worker, no log (medians)", ratio, "-", None))
    m = res.get("mlctl")
    if m is None:
        return rows
    c32 = m["rounds"][32]
    if "ceiling" in res:  # the cheap model's target; the forest is bound by its own 30 ms calls
        worst = min(x["rps"] / c["rps"] for x, c in zip(c32, res["ceiling"]["rounds"][32]))
        rows.append((kind, "c=32 throughput / ceiling, worst round (paired)", worst,
                     ">= 0.35" if kind == "logreg" else "-", worst >= 0.35 if kind == "logreg" else None))
    if kind == "logreg":
        cpu = max(x["cpu_ms_per_req"] for x in c32)
        rows.append((kind, "c=32 server CPU ms/request, worst round", cpu, "<= 0.15", cpu <= 0.15))
    for conc in CONCURRENCY:
        best = max(x["rps"] for x in m["rounds"][conc])
        spread = best / min(x["rps"] for x in m["rounds"][conc])
        # the collapse target is the forest's; the cheap model's spread is reported
        rows.append((kind, f"c={conc} best round / worst round", spread, "<= 1.3" if kind == "forest" else "-",
                     spread <= 1.3 if kind == "forest" else None))
        for anchor, goal in (("bentoml-batched", 3.0), ("mlflow", 10.0)):
            if anchor in res:
                ratio = median(m["rounds"][conc], "rps") / median(res[anchor]["rounds"][conc], "rps")
                worst = min(x["rps"] / a["rps"] for x, a in zip(m["rounds"][conc], res[anchor]["rounds"][conc]))
                # the throughput targets are set on the cheap model; the forest's are reported
                rows.append((kind, f"c={conc} throughput / {anchor}: medians (worst round {worst:.2f})", ratio,
                             f">= {goal:g}" if kind == "logreg" else "-", ratio >= goal if kind == "logreg" else None))
    if "bentoml-batched" in res:
        ratio = median(c32, "p99_ms") / median(res["bentoml-batched"]["rounds"][32], "p99_ms")
        rows.append((kind, "c=32 p99 / bentoml-batched (medians)", ratio, "<= 0.3", ratio <= 0.3))
    if "bentoml" in res:
        ratio = m["big_s"] / res["bentoml"]["big_s"]
        worst = max(x / b for x, b in zip(m["big_times_s"], res["bentoml"]["big_times_s"]))
        rows.append((kind, f"10,000-row request / bentoml plain: medians (worst pair {worst:.2f})", ratio, "<= 0.8",
                     ratio <= 0.8))
    real_model = kind != "dummy"
    if "mlctl-w2" in res:
        ratio = median(res["mlctl-w2"]["rounds"][32], "rps") / median(c32, "rps")
        rows.append((kind, "c=32 --workers 2 / one worker (medians)", ratio, ">= 1.6" if real_model else "-",
                     ratio >= 1.6 if real_model else None))
    if {"ceiling", "ceiling-w2"} <= set(res):  # what two workers of the bare framework reach beside wrk
        ratio = median(res["ceiling-w2"]["rounds"][32], "rps") / median(res["ceiling"]["rounds"][32], "rps")
        rows.append((kind, "c=32 ceiling app, 2 workers / 1 (medians)", ratio, "-", None))
    return rows


def print_targets(rows: list[tuple]) -> None:
    print("\n| model | target | value | goal | met |")
    print("| --- | --- | --- | --- | --- |")
    for kind, what, value, goal, ok in rows:
        print(f"| {kind} | {what} | {value:.3f} | {goal} | {'-' if ok is None else 'yes' if ok else 'NO'} |")


# -- main --------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="wrk duration per measurement")
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds, each reported")
    ap.add_argument("--models", nargs="*", choices=MODELS, default=["logreg", "forest"])
    ap.add_argument("--only", nargs="*", help="servers to run (ceiling, ceiling-w2, mlctl, mlctl-nolog, mlctl-w2, "
                                               "mlctl-nolog-w2, bentoml-batched, bentoml, mlflow)")
    ap.add_argument("--load-sched", choices=("normal", "batch"), default="normal",
                    help="wrk's scheduling class; batch: its wake-ups do not preempt the servers, as a "
                         "client on another machine never does (see _serve_load.run_wrk)")
    add_smoke_flag(ap)
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.rounds, args.models, args.only = 1, 1, ["logreg"], ["ceiling", "mlctl"]
    need_wrk()
    wanted = set(args.only or ["ceiling", "ceiling-w2", "mlctl", "mlctl-nolog", "mlctl-w2", "mlctl-nolog-w2",
                               "bentoml-batched", "bentoml", "mlflow"])
    anchors = {}
    if "mlflow" in wanted:
        anchors["mlflow"] = anchor_venv("mlflow", "mlflow", "scikit-learn")
    if wanted & {"bentoml", "bentoml-batched"}:
        anchors["bentoml"] = anchor_venv("bentoml", "bentoml", "scikit-learn")
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    (work / "ceiling.py").write_text(CEILING_APP)
    models = {kind: train(work, kind) for kind in args.models}
    repo = setup_mlctl(work, models)
    results, rows = {}, []
    for kind, model in models.items():
        results[kind] = measure_model(kind, servers_for(kind, model, work, repo, anchors, wanted), args.rounds,
                                      args.seconds, args.load_sched)
    for kind in models:
        rows += report_model(kind, results[kind])
    print_targets(rows)
    print(f"\nwrk scheduling class: {args.load_sched}")
    print(f"\nload average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    (WORK_ROOT / "serve_vs_anchors.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
