"""Run the lifecycle on the example project, one short paragraph per step.

Every step calls the real `mlctl` command line in the project folder (as a user would),
so the demo exercises exactly what users type.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from mlctl.demo import project
from mlctl.errors import MlctlError

Say = Callable[[str], None]


class DemoStepError(MlctlError):
    pass


class Demo:
    def __init__(self, root: Path, say: Say):
        self.root = root
        self.say = say
        self.env = dict(os.environ)
        # stage commands say `python`: make it the interpreter mlctl runs on
        self.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + self.env.get("PATH", "")
        self.env.pop("MLCTL_DIR", None)
        self.env.setdefault("GIT_AUTHOR_NAME", "mlctl demo")
        self.env.setdefault("GIT_AUTHOR_EMAIL", "demo@mlctl.invalid")
        self.env.setdefault("GIT_COMMITTER_NAME", "mlctl demo")
        self.env.setdefault("GIT_COMMITTER_EMAIL", "demo@mlctl.invalid")

    def step(self, title: str) -> None:
        self.say("")
        self.say(f"==> {title}")

    def run(self, *args: str, ok_codes=(0,), show: bool = True) -> subprocess.CompletedProcess:
        if args[0] == "git":
            cmd, shown = list(args), list(args)
        elif args[0] == "python":
            cmd, shown = [sys.executable, *args[1:]], list(args)
        else:
            cmd, shown = [sys.executable, "-m", "mlctl", *args], ["mlctl", *args]
        if show:
            self.say(f"$ {' '.join(shown)}")
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True)
        if proc.returncode not in ok_codes:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DemoStepError(f"demo step failed: {' '.join(args)} (exit {proc.returncode}): " + " | ".join(tail))
        if show:
            for line in (proc.stdout + proc.stderr).strip().splitlines()[:12]:
                self.say(f"  {line}")
        return proc

    def git_commit(self, message: str) -> None:
        self.run("git", "add", "-A", show=False)
        self.run("git", "commit", "-q", "-m", message, show=False)


def run_demo(root: Path, force: bool, say: Say) -> dict:
    start = time.monotonic()
    project.prepare_dir(root, force)
    demo = Demo(root.resolve(), say)
    demo.step("Create the example project (breast-cancer data shipped with scikit-learn)")
    facts = project.write_project(demo.root)
    say(f"  {facts['rows']} patients x {facts['columns']} features in data/raw/patients.csv")
    demo.run("git", "init", "-q", "-b", "main", show=False)
    demo.step("Initialise mlctl and a team remote (a local folder here; s3://... in a team)")
    demo.run("init")
    demo.run("remote", "add", "team", str(demo.root.parent / f"{demo.root.name}-remote"), "--default")
    demo.git_commit("example project")
    demo.step("Prepare, train and evaluate")
    demo.run("python", "src/prepare.py")
    demo.run("python", "src/train.py")
    demo.run("python", "src/evaluate.py")
    demo.step("Where things stand")
    demo.run("status")
    elapsed = time.monotonic() - start
    say("")
    say(f"Done in {elapsed:.0f} s. Try next, in {demo.root}:")
    for line in NEXT_COMMANDS:
        say(f"  {line}")
    return {"dir": str(demo.root), "seconds": elapsed}


NEXT_COMMANDS = [
    "mlctl status",
    "mlctl config list",
    "mlctl fsck",
]
