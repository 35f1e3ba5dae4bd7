"""The dashboard at scale: /api/runs and the runs page's first render with 100,000 runs.

    python benchmarks/ui_runs.py [--runs 100000] [--repeat 7] [--anchor-runs 2000] [--no-anchor]

Builds (once, cached in benchmarks/.work/) a repository of N finished runs through
tracking's core (`create_run`, one transaction per run: tracking has no bulk import),
starts `mlctl ui` on it and measures, alternating the cases round after round:

- /api/runs wall time (HTTP, server-side filter + sort + count + page of 50) for the
  default page, a filter, a sort on a metric, both, and the last page;
- the runs page in headless Chromium: navigation start -> the table's rows drawn
  (the page's `runs-rendered` performance mark), for the default page and a filter.

The anchor is `mlflow ui` (MLflow in its own venv under benchmarks/.venvs/): the same
searches through its REST API and its runs page, on --anchor-runs runs (MLflow writes a
run in ~35 ms, so 100,000 would take an hour to build); mlctl is measured on the same
small repository too, so the ratio compares like with like.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import WORK_ROOT, add_smoke_flag, anchor_venv, mlctl_env, print_table  # noqa: E402

WORK = WORK_ROOT
MODELS = ["rf", "lr", "gbm", "svm"]
QUERIES = {
    "newest 50": {},
    "filter": {"filter": "metrics.acc > 0.9 and params.model == 'rf'"},
    "sort -metrics.acc": {"sort": "-metrics.acc"},
    "filter + sort": {"filter": "metrics.acc > 0.9 and params.model == 'rf'", "sort": "-metrics.acc"},
    "last page": {"offset": "LAST"},
}


def build_repo(n: int) -> Path:
    root = WORK / f"ui-{n}"
    marker = root / ".built"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    code = f"""
import random, time
from mlctl.store.repo import init_repo
from mlctl.tracking.runs import create_run
repo, _ = init_repo({str(root)!r})
rng = random.Random(1)
start = time.perf_counter()
for i in range({n}):
    model = {MODELS!r}[i % 4]
    acc = rng.random()
    create_run(repo, experiment=("sweep-%d" % (i % 5)), name="run-%d" % i,
               params={{"model": model, "C": rng.choice([0.01, 0.1, 1, 10]), "depth": rng.randint(2, 12)}},
               metrics=[("acc", 0, acc, None), ("loss", 0, 1 - acc, None), ("f1", 0, rng.random(), None)],
               tags={{"team": "ml"}}, status="finished", capture_context=False, start_time=1.7e9 + i)
    if i and i % 10000 == 0:
        print("  %d runs, %.0f s" % (i, time.perf_counter() - start), flush=True)
"""
    print(f"building {n:,} runs in {root} (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-c", code], env=mlctl_env(), check=True)
    marker.write_text(str(n))
    return root


class Server:
    def __init__(self, cmd, cwd, env, url=None):
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = url or self.proc.stdout.readline().strip().rstrip("/")
        self.wait_ready()

    def wait_ready(self):
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.url} did not come up")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def mlctl_api(client, base: str, params: dict, total: int) -> float:
    params = dict(params, limit="50")
    if params.get("offset") == "LAST":
        params["offset"] = str(max(0, total - 50))
    start = time.perf_counter()
    resp = client.get(base + "/api/runs", params=params)
    wall = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    return wall


def mlflow_api(client, base: str, params: dict, total: int) -> float:
    """The same search through MLflow's REST API (what its runs page calls)."""
    body = {"experiment_ids": ["0"], "max_results": 50}
    if "filter" in params:
        body["filter"] = params["filter"].replace("==", "=").replace(" and ", " AND ")  # MLflow's dialect
    if "sort" in params:
        body["order_by"] = ["metrics.acc DESC"]
    start = time.perf_counter()
    if params.get("offset") == "LAST":  # MLflow pages by token only: walk to the end
        token, pages = None, 0
        while True:
            resp = client.post(base + "/ajax-api/2.0/mlflow/runs/search", json={**body, "max_results": 1000,
                                                                               **({"page_token": token} if token else {})})
            token = resp.json().get("next_page_token")
            pages += 1
            if not token:
                break
    else:
        resp = client.post(base + "/ajax-api/2.0/mlflow/runs/search", json=body)
        assert resp.status_code == 200, resp.text
    return time.perf_counter() - start


def first_render(browser, url: str, mark: str | None) -> float:
    """Navigation start -> the runs table drawn, in ms, from the page's own clock."""
    page = browser.new_page()
    try:
        page.goto(url, ready=False)
        if mark:
            page.wait_for(f"performance.getEntriesByName('{mark}').length > 0", timeout=60)
            return page.eval(f"performance.getEntriesByName('{mark}')[0].startTime") / 1000
        # MLflow's page: rows of its runs table present
        page.wait_for("document.querySelectorAll('[role=row], .ag-row, tr').length > 5", timeout=60)
        return page.eval("performance.now()") / 1000
    finally:
        page.close()


def touch(root: Path, round_no: int) -> None:
    """A write to the runs index (a tag on the newest run), as a training job logging while
    someone browses would make: every cached count is stale, so the next request is cold."""
    from mlctl.store.repo import find_repo
    from mlctl.tracking.edit import tag_run
    from mlctl.tracking.runs import list_runs

    repo = find_repo(root)
    tag_run(repo, list_runs(repo, limit=1)[0].id, {"bench_round": str(round_no)})


def measure_mlctl(root: Path, n: int, repeat: int, browser) -> dict:
    import httpx

    server = Server([sys.executable, "-m", "mlctl", "ui", "--port", "0"], root, mlctl_env())
    samples: dict[str, list] = {}
    filtered = server.url + "/runs?" + str(httpx.QueryParams({"filter": QUERIES["filter"]["filter"]}))
    try:
        client = httpx.Client(timeout=60)
        mlctl_api(client, server.url, {}, n)  # warm the OS page cache once
        for round_no in range(repeat):
            touch(root, round_no)
            for name, params in QUERIES.items():
                samples.setdefault(f"/api/runs {name} (cold)", []).append(mlctl_api(client, server.url, params, n))
                samples.setdefault(f"/api/runs {name} (warm)", []).append(mlctl_api(client, server.url, params, n))
            if browser:
                touch(root, round_no + 1000)
                samples.setdefault("page: newest 50 (cold)", []).append(first_render(browser, server.url + "/runs", "runs-rendered"))
                touch(root, round_no + 2000)
                samples.setdefault("page: filter (cold)", []).append(first_render(browser, filtered, "runs-rendered"))
    finally:
        server.stop()
    return {name: statistics.median(values) for name, values in samples.items()}


def build_mlflow(bin_dir: Path, n: int) -> Path:
    root = WORK / f"mlflow-{n}"
    if (root / ".built").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    code = f"""
import random, mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri("sqlite:///{root}/mlflow.db")
client = MlflowClient()
rng = random.Random(1)
for i in range({n}):
    run = client.create_run("0", run_name="run-%d" % i)
    acc = rng.random()
    model = {MODELS!r}[i % 4]
    client.log_batch(run.info.run_id,
                     metrics=[Metric("acc", acc, 0, 0), Metric("loss", 1 - acc, 0, 0), Metric("f1", rng.random(), 0, 0)],
                     params=[Param("model", model), Param("C", str(rng.choice([0.01, 0.1, 1, 10]))),
                             Param("depth", str(rng.randint(2, 12)))],
                     tags=[RunTag("team", "ml")])
    client.set_terminated(run.info.run_id)
"""
    print(f"building {n:,} MLflow runs (once) ...", file=sys.stderr)
    subprocess.run([str(bin_dir / "python"), "-c", code], cwd=root, check=True)
    (root / ".built").write_text(str(n))
    return root


def measure_mlflow(bin_dir: Path, root: Path, n: int, repeat: int, browser) -> dict:
    import socket

    import httpx

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ, MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false")
    server = Server([str(bin_dir / "mlflow"), "ui", "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
                     "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], root, env,
                    url=f"http://127.0.0.1:{port}")
    results = {}
    try:
        client = httpx.Client(timeout=120)
        mlflow_api(client, server.url, {}, n)
        samples = {name: [] for name in QUERIES}
        pages = []
        for _ in range(repeat):
            for name, params in QUERIES.items():
                samples[name].append(mlflow_api(client, server.url, params, n))
            if browser:
                try:
                    pages.append(first_render(browser, server.url + "/#/experiments/0", None))
                except Exception as exc:  # its page layout changes between releases
                    print(f"mlflow page: {exc}", file=sys.stderr)
                    browser = None
        for name, values in samples.items():
            results[f"/api/runs {name} (cold)"] = statistics.median(values)
        if pages:
            results["page: newest 50 (cold)"] = statistics.median(pages)
    finally:
        server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--anchor-runs", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:  # the HTTP side only: the browser side is the ui tests' (tests/ui/test_browser.py)
        args.runs, args.repeat, args.no_anchor, args.no_browser = 30, 1, True, True
    browser = None
    if not args.no_browser:
        from tests.ui.browser import Browser

        browser = Browser()
    try:
        big = measure_mlctl(build_repo(args.runs), args.runs, args.repeat, browser)
        print(f"\nmlctl ui with {args.runs:,} runs (median of {args.repeat}; target: under 1 s)\n")
        print_table(["case", "seconds", "under 1 s"],
                    [[name, f"{value:.3f}", "yes" if value < 1 else "NO"] for name, value in big.items()])
        if not args.no_anchor:
            bin_dir = anchor_venv("mlflow", "mlflow")
            small = measure_mlctl(build_repo(args.anchor_runs), args.anchor_runs, args.repeat, browser)
            anchor = measure_mlflow(bin_dir, build_mlflow(bin_dir, args.anchor_runs), args.anchor_runs,
                                    args.repeat, browser)
            print(f"\nmlctl ui vs mlflow ui with {args.anchor_runs:,} runs (median of {args.repeat})\n")
            rows = [[name, f"{small[name]:.3f}", f"{anchor[name]:.3f}", f"{small[name] / anchor[name]:.3f}"]
                    for name in small if name in anchor]
            print_table(["case", "mlctl s", "mlflow s", "mlctl/mlflow"], rows)
    finally:
        if browser:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
