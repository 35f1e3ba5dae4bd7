"""Eight processes promoting one alias at once: an alias move is compare-and-swap, so of
the promotions that found the alias in one place exactly one moves it, the others are
told it moved and change nothing, and the history holds every move, in order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

from mlctl.registry import aliases, index, versions
from tests.conftest import PROJECT

WORKERS, ROUNDS = 8, 4
LOST = re.compile(r"churn@production moved from ([0-9]+) to ([0-9]+) while you promoted; rerun")

PROMOTER = textwrap.dedent("""
    import glob, json, os, sys, time
    from mlctl.store.repo import find_repo
    from mlctl.registry.api import promote
    worker, workers, rounds, gate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    repo = find_repo()
    for r in range(rounds):
        open(os.path.join(gate, f"{r}-{worker}"), "w").close()
        deadline = time.monotonic() + 60
        while len(glob.glob(os.path.join(gate, f"{r}-*"))) < workers and time.monotonic() < deadline:
            time.sleep(0.002)  # all start each round together
        result = promote(repo, f"churn:{2 + worker}", "production", reason=f"w{worker} r{r}")
        print(json.dumps({"round": r, "promoted": result.promoted, "previous": result.previous,
                          "message": result.message}), flush=True)
""")


def test_eight_processes_promoting_at_once_one_wins_each_move(repo, model_files, tmp_path):
    for _ in range(WORKERS + 1):  # version 1 starts in production; worker i promotes version 2 + i
        versions.register(repo, "churn", model_files / "constant.pkl")
    aliases.set_alias(repo, "churn", "production", 1)
    gate = tmp_path / "gate"
    gate.mkdir()
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    procs = [subprocess.Popen([sys.executable, "-c", PROMOTER, str(w), str(WORKERS), str(ROUNDS), str(gate)],
                              cwd=repo.root, env=env, stdout=subprocess.PIPE, text=True) for w in range(WORKERS)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * WORKERS
    results = {(w, r["round"]): r for w, out in enumerate(outputs) for r in map(json.loads, out.splitlines())}
    assert len(results) == WORKERS * ROUNDS  # every attempt answered

    history = index.read_aliases(repo, "churn")["history"]
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    assert [e["time"] for e in history] == sorted(e["time"] for e in history)
    moves = history[1:]  # after the first set_alias
    assert all(e["moved"] and e["action"] == "promote" for e in moves)
    for before, after in zip(history, moves):
        assert after["from"] == before["to"] != after["to"]  # each move starts where the one before ended
    assert aliases.get_aliases(repo, "churn") == {"production": history[-1]["to"]}

    # every winner's move is in the history exactly once, and every move there has its winner
    won = sorted((f"w{w} r{r}", res["previous"], 2 + w) for (w, r), res in results.items()
                 if res["promoted"] and "already points" not in res["message"])
    assert won == sorted((e["reason"], e["from"], e["to"]) for e in moves)
    # every loser found the alias at one version and is told where it went; nothing changed for it
    lost = [res for res in results.values() if not res["promoted"]]
    assert lost, "no promotion was contested: the test proved nothing"
    for res in lost:
        seen, now = map(int, LOST.fullmatch(res["message"]).groups())
        assert seen != now
