"""`mlctl retrain` on a real project: every outcome, recorded in the history."""

from __future__ import annotations


import re

import pandas as pd

from tests.retrain.conftest import patients, shifted



def test_first_retrain_trains_and_promotes_when_there_is_no_production(project, cli):
    res = cli("retrain", "cancer", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert doc["outcome"] == "promoted" and doc["candidate"] == "cancer:1"
    assert doc["triggers"][0]["name"] == "no_production" and doc["triggers"][0]["fired"]
    assert doc["production"] == {"before": None, "after": 1}
    assert doc["pipeline"]["run_id"] and doc["evaluation"]["candidate_metrics"]["accuracy"] > 0.85
    entry = project.history()[-1]
    assert entry["action"] == "promote" and entry["to"] == 1 and entry["retrain"]["outcome"] == "promoted"
    assert entry["eval"]["data"] == "data/holdout.csv" and entry["gates"][0]["passed"]


def test_nothing_to_do_is_exit_0_and_recorded(trained, cli):
    res = cli("retrain", "cancer")
    assert res.exit_code == 0, res.stderr
    assert "no new data since cancer:1 was trained" in res.stdout
    assert "production stays cancer:1" in res.stdout
    assert "no predictions logged for cancer" in res.stdout
    entry = trained.history()[-1]
    assert entry["action"] == "retrain-noop" and entry["moved"] is False and entry["to"] is None
    assert trained.production() == 1 and trained.versions() == [1]


def test_new_data_retrains_registers_with_the_pipeline_run_and_promotes(trained, cli):
    from mlctl.registry.versions import get_version

    trained.set_data(pd.concat([patients(), shifted(patients(), rows=300)], ignore_index=True))
    res = cli("retrain", "cancer", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    doc = res.json()
    new_data = next(t for t in doc["triggers"] if t["name"] == "new_data")
    assert new_data["fired"] and new_data["changed"][0]["path"] == "data/raw"
    assert doc["outcome"] == "promoted" and doc["production"] == {"before": 1, "after": 2}
    v2 = get_version(trained.repo, "cancer:2")
    assert v2.run_id == doc["pipeline"]["run_id"]
    assert new_data["changed"][0]["trained_on"] != new_data["changed"][0]["now"]
    assert [c["name"] for c in v2.signature["inputs"]][:2] == ["mean_radius", "mean_texture"]
    improvement = doc["evaluation"]["improvement"]
    assert improvement["candidate"] >= improvement["production"] and improvement["passed"]
    assert trained.history()[-1]["retrain"]["triggers"]["new_data"]["fired"] is True


def test_new_data_looks_only_at_what_production_was_trained_on(project, cli):
    from mlctl.data import api

    project.write("other/notes.csv", "a\n1\n")
    api.add(project.repo, ["other"])
    assert cli("retrain", "cancer").exit_code == 0 and project.production() == 1
    project.write("other/notes.csv", "a\n2\n")
    api.add(project.repo, ["other"])  # an unrelated tracked folder changed: not training data
    res = cli("retrain", "cancer", "--dry-run", "--json")
    assert res.exit_code == 0, res.stderr
    new_data = next(t for t in res.json()["triggers"] if t["name"] == "new_data")
    assert not new_data["fired"] and not new_data.get("changed"), new_data


def test_drift_files_without_the_label_are_compared_on_their_features(trained, cli):
    """The evaluation target is no drift requirement: live inputs rarely hold the label."""
    from tests.retrain.conftest import FEATURES

    patients()[FEATURES].to_csv(trained.root / "data" / "reference.csv", index=False)
    shifted(patients())[FEATURES].to_csv(trained.root / "data" / "current.csv", index=False)
    trained.policy(drift={"reference": "data/reference.csv", "current": "data/current.csv", "drift_share": 0.3})
    res = cli("retrain", "cancer", "--dry-run", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    drift = next(t for t in res.json()["triggers"] if t["name"] == "drift")
    assert drift["fired"] and "mean_radius" in drift["drifted_columns"]


def test_degraded_candidate_is_rejected_with_exit_1_and_reasons(trained, cli):
    trained.params(model="dummy")
    res = cli("retrain", "cancer", "--force")
    assert res.exit_code == 1, res.stdout + res.stderr
    assert "rejected cancer:2: gate accuracy>=0.85 failed" in res.stdout
    assert "min_improvement not met: accuracy" in res.stdout
    assert "production stays cancer:1" in res.stdout
    assert trained.production() == 1 and trained.versions() == [1, 2]
    entry = trained.history()[-1]
    assert entry["action"] == "retrain-reject" and entry["to"] == 2 and entry["from"] == 1
    assert entry["retrain"]["forced"] is True and entry["gates"][0]["passed"] is False
    # the same model again is judged again, never registered twice
    doc = cli("retrain", "cancer", "--force", "--json").json()
    assert doc["outcome"] == "rejected" and doc["candidate"] == "cancer:2"
    assert doc["notes"] == ["model.pkl is cancer:2 already (the pipeline had nothing new to do): judging that version again"]
    assert trained.versions() == [1, 2]


def test_min_improvement_rejects_a_model_that_is_not_better_enough(trained, cli):
    trained.policy(min_improvement={"metric": "accuracy", "delta": 0.5})
    trained.params(C=0.5)
    res = cli("retrain", "cancer", "--force", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["outcome"] == "rejected"
    assert doc["evaluation"]["gates"][0]["passed"] is True
    assert doc["evaluation"]["improvement"]["passed"] is False
    assert any("min_improvement not met" in f for f in doc["evaluation"]["failures"])


def test_identical_model_is_not_registered_again(trained, cli):
    res = cli("retrain", "cancer", "--force")
    assert res.exit_code == 1
    assert "reproduced cancer:1 exactly" in res.stdout
    assert trained.versions() == [1]


def test_failed_pipeline_is_exit_1_recorded_and_production_untouched(trained, cli):
    trained.params(fail=True)
    res = cli("retrain", "cancer", "--force", "--json")
    assert res.exit_code == 1
    doc = res.json()
    assert doc["outcome"] == "failed" and "stage train failed" in doc["message"]
    assert trained.production() == 1 and trained.versions() == [1]
    assert trained.history()[-1]["action"] == "retrain-fail"


def test_cooldown_holds_a_triggered_retrain_and_force_skips_it(trained, cli):
    trained.policy(cooldown="1d")
    trained.set_data(pd.concat([patients(), shifted(patients(), rows=300)], ignore_index=True))
    res = cli("retrain", "cancer")
    assert res.exit_code == 0
    assert "new data: data/raw changed since cancer:1 was trained; but the cooldown (1d) holds" in res.stdout
    assert re.search(r"next allowed in (1d|23h\d*m?); production stays cancer:1", res.stdout), res.stdout
    assert trained.versions() == [1]
    assert cli("retrain", "cancer", "--force").exit_code == 0
    assert trained.production() == 2


def test_dry_run_says_what_it_would_do_and_writes_nothing(trained, cli):
    trained.set_data(pd.concat([patients(), shifted(patients(), rows=300)], ignore_index=True))
    before = trained.history()
    res = cli("retrain", "cancer", "--dry-run")
    assert res.exit_code == 0, res.stderr
    assert "new data: data/raw changed since cancer:1 was trained" in res.stdout
    assert ("would retrain: run the pipeline (train (run)), register cancer:2, evaluate it and cancer:1 on "
            "data/holdout.csv, promote it if accuracy>=0.85 holds and accuracy beats cancer:1 by >= 0") in res.stdout
    assert "train" in res.stdout and "dep data/raw changed" in res.stdout
    assert trained.history() == before and trained.versions() == [1]
    doc = cli("retrain", "cancer", "--dry-run", "--json").json()
    assert doc["dry_run"] is True and doc["would_retrain"] is True and doc["outcome"] == "would-retrain"
    assert doc["reason"].startswith("new data: data/raw changed")
    assert doc["plan"][0]["stage"] == "train" and doc["plan"][0]["action"] == "run"


def test_dry_run_of_a_rejected_retrain_is_still_exit_0(trained, cli):
    res = cli("retrain", "cancer", "--dry-run", "--force")
    assert res.exit_code == 0 and "would retrain: run the pipeline (train (run))" in res.stdout


def test_max_versions_kept_prunes_after_a_decision(trained, cli):
    trained.policy(max_versions_kept=2, gates=["accuracy>=0.99"])
    for c in (0.5, 0.25):
        trained.params(C=c)
        res = cli("retrain", "cancer", "--force", "--json")
        assert res.exit_code == 1
    # v1 is production and the newest is always kept: v2 went after the second rejection
    assert res.json()["pruned"] == {"deleted": [2], "skipped": []}
    assert trained.versions() == [1, 3] and trained.production() == 1


def test_an_error_after_training_is_exit_2_and_recorded(trained, cli):
    trained.policy(evaluate={"data": "data/holdout.csv", "target": "diagnosis"})
    trained.params(C=0.5)
    res = cli("retrain", "cancer", "--force")
    assert res.exit_code == 2
    error = next(line for line in res.stderr.splitlines() if line.startswith("mlctl: error: "))
    assert "diagnosis" in error
    entry = trained.history()[-1]
    assert entry["action"] == "retrain-fail" and "diagnosis" in entry["reason"]
    assert entry["reason"].startswith("retrain failed: ") and trained.production() == 1
