"""`approval: required`: a passing candidate waits for `mlctl model approve|reject`; the
decision is notified, listed by `mlctl status` and the dashboard, and recorded with who."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.monitoring.test_alerts import Receiver
from tests.retrain.conftest import patients, shifted


@pytest.fixture
def awaiting(trained, cli, tmp_path):
    """cancer:1 in production; new data retrained cancer:2, which passed and awaits approval."""
    receiver = Receiver()
    trained.policy(approval="required", notify={"webhook": receiver.url})
    trained.set_data(pd.concat([patients(), shifted(patients(), rows=300)], ignore_index=True))
    told = tmp_path / "decision.json"
    res = cli("retrain", "cancer", "--json", "--on-decision", f"cat > {told}")
    receiver.close()
    assert res.exit_code == 0, res.stdout + res.stderr
    trained.result, trained.told, trained.posted = res.json(), json.loads(told.read_text()), receiver.bodies
    return trained


def test_a_passing_candidate_is_registered_evaluated_recorded_and_notified(awaiting):
    doc = awaiting.result
    assert doc["outcome"] == "awaiting-approval" and doc["candidate"] == "cancer:2" and doc["exit_code"] == 0
    assert doc["production"] == {"before": 1, "after": 1} and awaiting.production() == 1
    assert doc["evaluation"]["passed"] and doc["evaluation"]["production_metrics"]["accuracy"] > 0
    entry = awaiting.history()[-1]
    assert entry["action"] == "retrain-await-approval" and entry["to"] == 2 and entry["moved"] is False
    assert entry["eval"]["metrics"]["accuracy"] == doc["evaluation"]["candidate_metrics"]["accuracy"]
    assert entry["eval"]["incumbent_metrics"] and entry["retrain"]["outcome"] == "awaiting-approval"
    assert awaiting.told["outcome"] == "awaiting-approval" and awaiting.told["candidate"] == "cancer:2"
    [posted] = awaiting.posted
    assert posted["body"]["candidate"] == "cancer:2" and "mlctl model approve cancer:2" in posted["body"]["text"]
    assert doc["notifications"]["on_decision"]["ok"] and doc["notifications"]["webhook"]["ok"]


def test_status_and_dashboard_list_pending_approvals(awaiting, cli):
    from tests.ui.conftest import ThreadServer

    status = cli("status", "--json").json()
    [pending] = status["retrain"]["pending_approvals"]
    assert pending["spec"] == "cancer:2" and pending["production"] == 1 and pending["metrics"]["accuracy"] > 0
    assert "cancer:2 awaits approval since" in cli("status").stdout
    with ThreadServer(awaiting.repo) as client:
        models = client.get("/api/models").json()
        assert [p["spec"] for p in models["pending_approvals"]] == ["cancer:2"]
        assert [p["spec"] for p in client.get("/api/models/cancer").json()["pending_approvals"]] == ["cancer:2"]


def test_approve_promotes_through_the_gates_and_records_who(awaiting, cli, monkeypatch):
    monkeypatch.setenv("MLCTL_ACTOR", "alice")
    res = cli("model", "approve", "cancer:2", "--reason", "checked the confusion matrix", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert doc["decision"] == "approved" and doc["actor"] == "alice" and doc["production"] == {"before": 1, "after": 2}
    assert doc["evaluation"]["passed"]
    assert awaiting.production() == 2
    entry = awaiting.history()[-1]
    assert entry["action"] == "approve" and entry["moved"] and entry["actor"] == "alice"
    assert entry["approval"] == {"decision": "approved", "by": "alice", "reason": "checked the confusion matrix",
                                 "awaited": awaiting.history()[-2]["seq"], "awaited_since": awaiting.history()[-2]["time"]}
    assert entry["gates"] and entry["eval"]["metrics"]
    assert cli("status", "--json").json()["retrain"]["pending_approvals"] == []
    again = cli("model", "approve", "cancer:2")
    assert again.exit_code == 2 and "cancer:2 is not awaiting approval" in again.stderr


def test_reject_records_why_and_keeps_production(awaiting, cli, monkeypatch):
    monkeypatch.setenv("MLCTL_ACTOR", "bob")
    assert cli("model", "reject", "cancer:2").exit_code == 2  # --reason is required
    res = cli("model", "reject", "cancer:2", "--reason", "worse on the new clinic")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == "rejected cancer:2 by bob: worse on the new clinic"
    assert awaiting.production() == 1
    entry = awaiting.history()[-1]
    assert entry["action"] == "reject" and entry["moved"] is False and entry["to"] == 2
    assert entry["approval"]["decision"] == "rejected" and entry["approval"]["by"] == "bob"
    assert cli("model", "approve", "cancer:2").exit_code == 2


def test_approving_what_awaits_nothing_is_exit_2(trained, cli):
    res = cli("model", "approve", "cancer:1")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: cancer:1 is not awaiting approval")
    assert cli("model", "reject", "cancer:1", "--reason", "x").exit_code == 2
    assert cli("model", "approve", "cancer:9").exit_code == 2
    assert cli("model", "approve", "cancer").exit_code == 2  # a version must be named


def test_approve_judges_again_against_production_now(awaiting, cli):
    """Production moved (here: to a degraded version) since the candidate was judged: the
    approval compares again; a candidate that no longer passes is exit 1, nothing moves."""
    from mlctl.registry.aliases import record_event, set_alias

    awaiting.params(model="dummy")
    assert cli("retrain", "cancer", "--force").exit_code == 1  # cancer:3, dummy: rejected by the gates
    set_alias(awaiting.repo, "cancer", "production", 2, reason="by hand")
    record_event(awaiting.repo, "cancer", "retrain-await-approval", alias="production", version=3,
                 extra={"retrain": {"policy": "retrain.yaml"}})  # as if cancer:3 had passed back then
    res = cli("model", "approve", "cancer:3")
    assert res.exit_code == 1, res.stdout + res.stderr
    assert "not approved: cancer:3 no longer passes" in res.stdout and awaiting.production() == 2


def test_approval_and_notify_are_checked_in_the_policy(project, cli):
    project.policy(approval="maybe")
    res = cli("retrain", "cancer")
    assert res.exit_code == 2 and "retrain.yaml: approval: expected one of none, required, got 'maybe'" in res.stderr
    project.policy(notify={"webhook": "ftp://x"})
    assert cli("retrain", "cancer").exit_code == 2
    project.policy(notify={"on_decsion": "x"})
    res = cli("retrain", "cancer")
    assert res.exit_code == 2 and "notify.on_decsion: unknown key" in res.stderr


def test_a_policy_path_from_the_history_cannot_leave_the_repository(awaiting, cli):
    """History can come from a remote: its policy path goes through the checked resolver."""
    from mlctl.registry.aliases import record_event

    for crafted in ("../../etc/passwd", "/etc/passwd", ".git/config"):
        record_event(awaiting.repo, "cancer", "retrain-await-approval", alias="production", version=2,
                     extra={"retrain": {"policy": crafted}})
        res = cli("model", "approve", "cancer:2")
        assert res.exit_code == 2 and "is not a file inside the repository" in res.stderr, res.stderr
    assert awaiting.production() == 1
