#!/usr/bin/env python3
"""Startup cost: what every git hook and shell loop pays per mlctl call.

Median wall and CPU of `mlctl --version`, `mlctl --help`, `mlctl status` (empty repo)
beside `python -c pass`, a bare one-command typer app, and DVC 3.x's `dvc --version` /
`dvc status` (installed into benchmarks/.venvs/dvc-startup, never a project dependency),
alternating in one run. Targets: --version <= 0.5x dvc --version; status <= 0.3x dvc status.

    python benchmarks/startup.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_smoke_flag, alternate, anchor_venv, mlctl_env, print_table  # noqa: E402

BARE_TYPER = "import typer\napp = typer.Typer()\n@app.command()\ndef main(): pass\napp()\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    add_smoke_flag(parser)
    args = parser.parse_args()
    repeat, dvc_bin = (1, None) if args.smoke else (args.repeat, anchor_venv("dvc-startup", "dvc>=3,<4"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for tool in ("mlctl", "dvc"):
            (work / tool).mkdir()
            subprocess.run(["git", "init", "-q"], cwd=work / tool, check=True)
        subprocess.run([sys.executable, "-m", "mlctl", "init", "-q"], cwd=work / "mlctl", env=mlctl_env(), check=True)
        if dvc_bin:
            subprocess.run([str(dvc_bin / "dvc"), "init", "-q"], cwd=work / "dvc", check=True)
        (work / "bare.py").write_text(BARE_TYPER)
        env = mlctl_env()
        mlctl = [sys.executable, "-m", "mlctl"]
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], work, env),
            "bare typer app": ([sys.executable, str(work / "bare.py")], work, env),
            "mlctl --version": ([*mlctl, "--version"], work / "mlctl", env),
            "mlctl --help": ([*mlctl, "--help"], work / "mlctl", env),
            "mlctl status": ([*mlctl, "status"], work / "mlctl", env),
        }
        if dvc_bin:
            cases["dvc --version"] = ([str(dvc_bin / "dvc"), "--version"], work / "dvc", None)
            cases["dvc status"] = ([str(dvc_bin / "dvc"), "status"], work / "dvc", None)
        results = alternate(cases, repeat, check=args.smoke)
    rows = [[name, f"{r['wall'] * 1000:.0f}", f"{r['cpu'] * 1000:.0f}"] for name, r in results.items()]
    print_table(["command", "median wall ms", "median cpu ms"], rows)
    print()
    if not dvc_bin:
        return
    ratios = [
        ("mlctl --version / dvc --version", results["mlctl --version"]["wall"] / results["dvc --version"]["wall"], 0.5),
        ("mlctl --help / dvc --version", results["mlctl --help"]["wall"] / results["dvc --version"]["wall"], None),
        ("mlctl status / dvc status", results["mlctl status"]["wall"] / results["dvc status"]["wall"], 0.3),
    ]
    print_table(["ratio (wall)", "value", "target", "met"],
                [[n, f"{v:.2f}", t if t else "-", ("yes" if v <= t else "NO") if t else "-"] for n, v, t in ratios])


if __name__ == "__main__":
    main()
