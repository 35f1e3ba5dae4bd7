"""Run the lifecycle on the example project, one short paragraph per step.

Every step calls the real `mlctl` command line in the project folder (as a user would),
so the demo exercises exactly what users type.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from mlctl.demo import project
from mlctl.errors import MlctlError

Say = Callable[[str], None]
MODEL = "cancer"


class DemoStepError(MlctlError):
    pass


class Demo:
    def __init__(self, root: Path, say: Say):
        self.root = root
        self.say = say
        self.facts: dict = {}
        self.env = dict(os.environ)
        # stage commands say `python`: make it the interpreter mlctl runs on
        self.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + self.env.get("PATH", "")
        self.env.pop("MLCTL_DIR", None)
        self.env.pop("MLCTL_RUN_ID", None)
        self.env["NO_COLOR"] = "1"
        for key, value in (("GIT_AUTHOR_NAME", "mlctl demo"), ("GIT_AUTHOR_EMAIL", "demo@mlctl.invalid"),
                           ("GIT_COMMITTER_NAME", "mlctl demo"), ("GIT_COMMITTER_EMAIL", "demo@mlctl.invalid")):
            self.env.setdefault(key, value)

    def step(self, title: str) -> None:
        self.say("")
        self.say(f"==> {title}")

    def command(self, args: tuple[str, ...]) -> tuple[list[str], list[str]]:
        if args[0] == "git":
            return list(args), list(args)
        if args[0] == "python":
            return [sys.executable, *args[1:]], list(args)
        return [sys.executable, "-m", "mlctl", *args], ["mlctl", *args]

    def run(self, *args: str, ok_codes=(0,), show: bool = True, lines: int = 12,
            stderr: bool = True) -> subprocess.CompletedProcess:
        cmd, shown = self.command(args)
        if show:
            self.say(f"$ {' '.join(shown)}")
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True)
        if proc.returncode not in ok_codes:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DemoStepError(f"demo step failed: {' '.join(shown)} (exit {proc.returncode}): " + " | ".join(tail))
        if show:
            text = proc.stdout + (proc.stderr if stderr else "")
            out = [line for line in text.strip().splitlines() if line.strip()]
            for line in out[:lines]:
                self.say(f"  {line if len(line) <= 160 else line[:157] + '...'}")
            if len(out) > lines:
                self.say(f"  ... ({len(out) - lines} more lines)")
        return proc

    def run_json(self, *args: str, ok_codes=(0,)) -> dict:
        cmd, shown = self.command((*args, "--json"))
        self.say(f"$ {' '.join(shown[:-1])}")
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True)
        if proc.returncode not in ok_codes:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DemoStepError(f"demo step failed: {' '.join(shown)} (exit {proc.returncode}): " + " | ".join(tail))
        doc = json.loads(proc.stdout)
        doc["_exit"] = proc.returncode
        return doc

    def git_commit(self, message: str) -> None:
        self.run("git", "add", "-A", show=False)
        self.run("git", "commit", "-q", "-m", message, show=False)

    def set_param(self, key: str, value) -> None:
        import yaml

        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        params["train"][key] = value
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        self.say(f"$ # params.yaml: train.{key} = {value}")


def create(demo: Demo) -> None:
    demo.step("Create the example project (breast-cancer data shipped with scikit-learn)")
    facts = project.write_project(demo.root)
    demo.say(f"  {facts['rows']} patients x {facts['columns']} features in data/raw/patients.csv")
    demo.run("git", "init", "-q", "-b", "main", show=False)
    demo.step("Initialise mlctl and a team remote (a local folder here; s3://bucket/prefix in a team)")
    demo.run("init")
    demo.run("remote", "add", "team", str(demo.root.parent / f"{demo.root.name}-remote"), "--default")


def version_data(demo: Demo) -> None:
    demo.step("Version the raw data: content-addressed objects in .mlctl/, small pointers in git")
    demo.run("data", "add", "data/raw/patients.csv", "data/raw/vitals.parquet")
    demo.git_commit("example project with versioned data")
    demo.run("data", "push")
    demo.step("Validate the raw data against expectations.yaml (the pipeline checks it again before training)")
    demo.run("data", "validate", lines=12)


def train_twice(demo: Demo) -> None:
    demo.step("Run the pipeline: prepare -> train -> evaluate, recorded as one tracking run")
    demo.set_param("C", 0.01)
    demo.git_commit("C=0.01")
    first = demo.run_json("pipeline", "run")
    demo.say(f"  run {first['run_id']}: " + ", ".join(f"{s['stage']} {s['outcome']}" for s in first["stages"]))
    demo.git_commit("pipeline outputs for C=0.01")
    demo.step("A second run with another param: only the stages it touches run again")
    demo.set_param("C", 1.0)
    demo.git_commit("C=1.0")
    second = demo.run_json("pipeline", "run")
    demo.say(f"  run {second['run_id']}: " + ", ".join(f"{s['stage']} {s['outcome']} ({s['cache']})" for s in second["stages"]))
    demo.git_commit("pipeline outputs for C=1.0")
    demo.facts["runs"] = [first["run_id"], second["run_id"]]
    demo.step("Compare the two runs")
    demo.run("run", "compare", first["run_id"], second["run_id"], "--plot", "compare.png", lines=16)


def register_and_promote(demo: Demo) -> None:
    demo.step("Register the better model and promote it through quality gates")
    run_id = demo.facts["runs"][1]
    demo.run("model", "register", MODEL, "model.pkl", "--run", run_id,
             "--example", "data/prepared/holdout.csv", "--target", project.TARGET)
    demo.run("model", "promote", f"{MODEL}:1", "--to", "production", "--gate", "accuracy>=0.9",
             "--gate", "roc_auc>=0.95", "--eval", "data/prepared/holdout.csv", "--target", project.TARGET)


def features(demo: Demo) -> None:
    demo.step("Feature store: push the latest vitals online and read them back")
    demo.run("feature", "materialize", lines=4)
    demo.run("feature", "get", "--features", "vitals:mean_radius,vitals:mean_texture", "--entity", "patient_id=3")


def serve(demo: Demo) -> None:
    demo.step("Serve production over HTTP, logging every prediction; then a drifted population arrives")
    from mlctl.demo.serving import DemoServer

    server = DemoServer(demo.root, demo.env, f"{MODEL}@production")
    demo.say(f"$ mlctl {' '.join(server.args)} &")
    try:
        meta = server.wait_ready()
        demo.say(f"  serving {meta['name']}:{meta['version']} on {server.url}")
        frame = project.patients_frame()
        normal = frame.drop(columns=[project.TARGET]).sample(n=60, random_state=1).to_dict("records")
        drifted = project.drifted_batch(frame, rows=240).to_dict("records")
        answer = server.predict(normal[:3], "demo-0")
        demo.say(f"  POST /predict (3 patients) -> {answer['predictions']} from version {answer['version']}")
        for i in range(0, len(normal), 20):
            server.predict(normal[i:i + 20], f"demo-normal-{i}")
        for i in range(0, len(drifted), 40):
            server.predict(drifted[i:i + 40], f"demo-drift-{i}")
        demo.say(f"  sent {len(normal)} ordinary and {len(drifted)} drifted rows")
    finally:
        code = server.stop()
    demo.say(f"  stopped with SIGTERM (exit {code}); the prediction log was flushed to the store")


def drift(demo: Demo) -> None:
    demo.step("Check the live traffic for drift against the training data")
    doc = demo.run_json("monitor", "drift", "--reference", "data/prepared/train.csv", "--current",
                        f"predictions:{MODEL}", "--report", "drift.html", ok_codes=(0, 1))
    share = doc.get("share_drifted", doc.get("drift_share"))
    verdict = "DRIFT" if doc["dataset_drift"] else "no drift"
    demo.say(f"  {verdict}: {share:.0%} of columns drifted (exit {doc['_exit']}); report: drift.html")
    demo.facts["drift"] = doc["dataset_drift"]


def retrain(demo: Demo) -> None:
    demo.step("Labelled data from the new population arrives; retrain decides")
    import pandas as pd

    raw = demo.root / "data" / "raw" / "patients.csv"
    frame = pd.read_csv(raw)
    fresh = project.drifted_batch(frame, rows=200, seed=11, labelled=True)
    pd.concat([frame, fresh], ignore_index=True).to_csv(raw, index=False)
    demo.say(f"  appended {len(fresh)} labelled patients to data/raw/patients.csv")
    demo.run("data", "add", "data/raw/patients.csv")
    demo.git_commit("new labelled data")
    proc = demo.run("retrain", MODEL, ok_codes=(0, 1), lines=16, stderr=False)
    demo.facts["retrain_exit"] = proc.returncode
    demo.run("model", "history", MODEL)


def lineage(demo: Demo) -> None:
    demo.step("Where the production model came from")
    demo.run("lineage", f"{MODEL}@production", lines=30)


def summary(demo: Demo) -> None:
    demo.step("Where things stand")
    demo.run("status", lines=40)


STEPS = [create, version_data, train_twice, register_and_promote, features, serve, drift, retrain,
         lineage, summary]

NEXT_COMMANDS = [
    "mlctl status                          # everything on one screen",
    "mlctl run list --sort -metrics.accuracy",
    f"mlctl model history {MODEL}",
    "mlctl pipeline status                 # exit 1 when something is stale",
    "mlctl ui                              # the dashboard on http://127.0.0.1:5000",
    f"mlctl serve {MODEL}@production --log-predictions",
]


def run_demo(root: Path, force: bool, say: Say) -> dict:
    start = time.monotonic()
    project.prepare_dir(root, force)
    demo = Demo(root.resolve(), say)
    for step in STEPS:
        step(demo)
    elapsed = time.monotonic() - start
    say("")
    say(f"Done in {elapsed:.0f} s. Try next, in {demo.root}:")
    for line in NEXT_COMMANDS:
        say(f"  {line}")
    return {"dir": str(demo.root), "seconds": elapsed, **demo.facts}
