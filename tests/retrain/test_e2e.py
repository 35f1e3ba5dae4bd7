"""The whole loop on scikit-learn's breast-cancer data, with a real `mlctl serve` process:

1. train v1 with the pipeline, register it from the pipeline's run, promote it;
   serve production with prediction logging
2. drifted traffic arrives, then labelled data from the new population:
   `mlctl retrain` sees drift and new data, trains v2, promotes it; the server follows
3. a batch with wrong labels arrives: the retrained v3 fails the gates and is rejected;
   production and the server stay on v2
4. someone promotes v3 by hand anyway; live labels show it failing, and
   `mlctl monitor performance --rollback-on-degrade` moves production back to v2; the server follows

Each step checks the registry, the history and what the server answers.
"""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import git
from tests.retrain.conftest import python_on_path
from tests.serving.conftest import Server

TARGET = "malignant"


class Loop:
    def __init__(self, repo, cli):
        self.repo, self.cli = repo, cli
        self.root = Path(repo.root)
        self.sent = 0

    def ok(self, *args, code: int = 0):
        res = self.cli(*args)
        assert res.exit_code == code, f"mlctl {' '.join(args)} -> {res.exit_code}\n{res.stdout}\n{res.stderr}"
        return res

    def history(self) -> list[dict]:
        from mlctl.registry.aliases import history

        return history(self.repo, "cancer")

    def production(self) -> int:
        from mlctl.registry.aliases import get_aliases

        return get_aliases(self.repo, "cancer")["production"]

    def add_rows(self, frame) -> None:
        raw = self.root / "data/raw/patients.csv"
        pd.concat([pd.read_csv(raw), frame], ignore_index=True).to_csv(raw, index=False)
        self.ok("data", "add", "data/raw")

    def send(self, server: Server, frame) -> list[tuple[str, int, int]]:
        """One request per row, X-Request-ID set; returns (request id, version, truth)."""
        rows = frame.drop(columns=[TARGET]).to_dict("records")
        ids = [f"req-{self.sent + i}" for i in range(len(rows))]
        self.sent += len(rows)

        def post(args):
            rid, row = args
            res = server.post(json={"instances": [row]}, headers={"X-Request-ID": rid})
            assert res.status_code == 200, res.text
            return res.json()["version"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            versions = list(pool.map(post, zip(ids, rows)))
        return list(zip(ids, versions, frame[TARGET].tolist()))

    def wait_logged(self, rows: int) -> None:
        from mlctl.predlog.api import read_predictions

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if len(read_predictions(self.repo, "cancer")) >= rows:
                    return
            except Exception:  # noqa: BLE001 - the log's first flush may not have happened yet
                pass
            time.sleep(0.1)
        raise AssertionError(f"the prediction log never reached {rows} rows")


def wait_serving(server: Server, version: int) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        meta = server.client.get("/metadata").json()["model"]
        if meta["version"] == version:
            return meta
        time.sleep(0.1)
    raise AssertionError(f"the server never switched to version {version}: {meta}")


def larger_tumours(frame, rows: int, seed: int):
    """Patients from a shifted population (larger, rougher tumours), labels kept."""
    sample = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for col in sample.columns:
        if col.startswith(("mean_", "worst_")):
            sample[col] = sample[col] * 1.35
    return sample


@pytest.fixture
def loop(repo, cli, monkeypatch):
    from mlctl.demo.project import write_project

    python_on_path(monkeypatch)
    write_project(Path(repo.root))
    policy_file = Path(repo.root) / "retrain.yaml"
    policy = yaml.safe_load(policy_file.read_text())  # the demo's own policy ...
    policy["pipeline"]["stages"] = ["train"]          # ... without re-running `evaluate` (time)
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "example project")
    return Loop(repo, cli)


@pytest.mark.timeout(300)
def test_drift_retrain_promote_reject_and_rollback(loop, tmp_path):
    from mlctl.demo.project import patients_frame
    from mlctl.registry.versions import get_version

    patients = patients_frame()

    # 1. v1: pipeline -> register from its run -> promote through the gate; serve it
    loop.ok("data", "add", "data/raw")
    run_id = loop.ok("pipeline", "run", "train", "--json").json()["run_id"]
    loop.ok("model", "register", "cancer", "model.pkl", "--run", run_id)
    loop.ok("model", "promote", "cancer:1", "--to", "production", "--gate", "accuracy>=0.9",
            "--eval", "data/prepared/holdout.csv", "--target", TARGET)
    server = Server(loop.repo, ["cancer@production", "--log-predictions", "--log-flush-s", "0.2",
                                "--reload-interval", "0.2"])
    try:
        server.wait_ready()
        assert wait_serving(server, 1)["alias"] == "production"
        res = loop.ok("retrain", "cancer")
        assert "no predictions logged for cancer" in res.stdout and "production stays cancer:1" in res.stdout

        # 2. drifted traffic, then labelled data from the new population: retrain promotes v2
        served_v1 = loop.send(server, larger_tumours(patients, 150, seed=1))
        assert {v for _, v, _ in served_v1} == {1}
        loop.wait_logged(150)
        loop.add_rows(larger_tumours(patients, 300, seed=2))
        doc = loop.ok("retrain", "cancer", "--json").json()
        triggers = {t["name"]: t for t in doc["triggers"]}
        assert triggers["drift"]["fired"] and triggers["drift"]["share_drifted"] >= 0.3
        assert triggers["drift"]["reference"].startswith("data/prepared/train.csv@")
        assert triggers["new_data"]["fired"]
        assert doc["outcome"] == "promoted" and doc["production"] == {"before": 1, "after": 2}
        ev = doc["evaluation"]
        assert ev["candidate_metrics"]["accuracy"] >= 0.9 and ev["improvement"]["passed"]
        assert ev["candidate_metrics"]["accuracy"] >= ev["production_metrics"]["accuracy"]
        assert loop.production() == 2
        assert get_version(loop.repo, "cancer:2").run_id == doc["pipeline"]["run_id"]
        promoted = loop.history()[-1]
        assert (promoted["action"], promoted["from"], promoted["to"]) == ("promote", 1, 2)
        assert promoted["reason"].startswith("retrain: drift:") and promoted["retrain"]["drift"]["check"]
        assert wait_serving(server, 2)["version"] == 2
        assert server.post(json={"instances": [patients.drop(columns=[TARGET]).iloc[0].to_dict()]}).json()["version"] == 2

        # 3. a batch with wrong labels: v3 fails the gates and is rejected; nothing moves
        flipped = pd.concat([patients, patients], ignore_index=True)
        flipped[TARGET] = 1 - flipped[TARGET]
        loop.add_rows(flipped)
        res = loop.ok("retrain", "cancer", code=1)
        assert "rejected cancer:3: gate accuracy>=0.9 failed" in res.stdout
        assert "production stays cancer:2" in res.stdout
        rejected = loop.history()[-1]
        assert (rejected["action"], rejected["from"], rejected["to"]) == ("retrain-reject", 2, 3)
        assert loop.production() == 2 and wait_serving(server, 2)

        # 4. promoted by hand anyway; the live labels condemn it; the watch rolls back to v2
        loop.ok("model", "promote", "cancer:3", "--to", "production", "--reason", "hotfix, trust me")
        assert wait_serving(server, 3)["version"] == 3
        served_v3 = loop.send(server, larger_tumours(patients, 60, seed=4))
        assert {v for _, v, _ in served_v3} == {3}
        loop.wait_logged(150 + 1 + 60)
        labels = pd.DataFrame([(rid, truth) for rid, _, truth in served_v1 + served_v3],
                              columns=["request_id", TARGET])
        labels.to_csv(tmp_path / "labels.csv", index=False)
        res = loop.ok("monitor", "performance", "cancer", "--labels", str(tmp_path / "labels.csv"),
                      "--rollback-on-degrade", "--json", code=1)
        doc = res.json()
        live = {v["version"]: v for v in doc["versions"]}
        assert live[3]["labelled"] == 60 and live[3]["live"] < 0.85 and live[3]["validation"] is not None
        assert live[1]["labelled"] == 150 and live[1]["live"] > live[3]["live"]
        assert doc["production"]["status"] == "degraded" and doc["rollback"]["done"]
        assert (doc["rollback"]["from"], doc["rollback"]["to"]) == (3, 2)
        rollback = loop.history()[-1]
        assert (rollback["action"], rollback["from"], rollback["to"]) == ("rollback", 3, 2)
        assert rollback["reason"].startswith("monitor performance: live accuracy")
        assert loop.production() == 2
        assert wait_serving(server, 2)["version"] == 2
        text = loop.ok("model", "history", "cancer").stdout
        for action in ("promote", "retrain-noop", "retrain-reject", "rollback"):
            assert action in text
    finally:
        assert server.stop() == 0, server.stderr()
