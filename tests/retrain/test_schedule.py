"""`mlctl retrain --print-schedule`: snippets that work when pasted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.retrain.conftest import mlctl_env



def test_prints_crontab_github_and_gitlab(project, cli):
    res = cli("retrain", "--print-schedule")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    cron_line = next(line for line in out.splitlines() if line.startswith("17 2 * * * "))
    assert f"cd {project.root} && MLCTL_ACTOR=cron " in cron_line
    assert "retrain cancer -q --json >> \"$HOME/mlctl-retrain-cancer.log\" 2>&1" in cron_line
    assert "# .github/workflows/retrain-cancer.yml" in out and "retrain-cancer:\n  rules:" in out


def test_snippets_are_valid_yaml_with_the_schedule(project, cli):
    doc = cli("retrain", "cancer", "--print-schedule", "--cron", "0 */6 * * *", "--json").json()
    assert doc["cron"] == "0 */6 * * *" and doc["crontab"].startswith("0 */6 * * * ")
    github = yaml.safe_load(doc["github_actions"])
    triggers = github[True]  # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
    assert triggers["schedule"] == [{"cron": "0 */6 * * *"}] and "workflow_dispatch" in triggers
    assert github["concurrency"] == {"group": "retrain-cancer", "cancel-in-progress": False}
    steps = github["jobs"]["retrain"]["steps"]
    assert steps[0]["with"]["clean"] is False
    assert steps[1]["run"].startswith("mlctl retrain cancer --json")
    gitlab = yaml.safe_load(doc["gitlab_ci"])
    job = gitlab["retrain-cancer"]
    assert job["resource_group"] == "retrain-cancer" and job["variables"]["GIT_CLEAN_FLAGS"] == "none"
    assert job["script"][0].startswith("mlctl retrain cancer --json")
    assert '"0 */6 * * *"' in doc["gitlab_ci"]


def test_a_policy_elsewhere_is_named_relative_to_the_repository(project, cli):
    (project.root / "ops").mkdir()
    (project.root / "retrain.yaml").rename(project.root / "ops" / "cancer.yaml")
    os.chdir(project.root / "ops")
    doc = cli("retrain", "--print-schedule", "--policy", "cancer.yaml", "--json").json()
    assert "retrain cancer --policy ops/cancer.yaml -q --json" in doc["crontab"]
    assert "mlctl retrain cancer --policy ops/cancer.yaml --json" in doc["github_actions"]


@pytest.mark.parametrize("args, message", [
    (("--print-schedule", "--cron", "every night"), "invalid cron schedule 'every night'"),
    (("--print-schedule", "--cron", "1 2 3 4 5 6"), "invalid cron schedule"),
    (("--cron", "1 2 * * *"), "--cron goes with --print-schedule"),
])
def test_bad_schedule_arguments(project, cli, args, message):
    res = cli("retrain", *args)
    assert res.exit_code == 2 and res.stderr.startswith(f"mlctl: error: {message}")


def test_a_schedule_for_a_broken_policy_is_refused(project, cli):
    project.policy(cooldown="sometimes")
    res = cli("retrain", "--print-schedule")
    assert res.exit_code == 2 and "retrain.yaml: cooldown:" in res.stderr


def test_the_crontab_line_runs_as_cron_would(project, cli, tmp_path):
    line = cli("retrain", "--print-schedule", "--json").json()["crontab"]
    command = line.split(" ", 5)[5]
    home = tmp_path / "cronhome"
    home.mkdir()
    env = mlctl_env({"HOME": str(home)})
    env["PATH"] = os.path.dirname(sys.executable) + ":/usr/bin:/bin"
    subprocess.run(["/bin/sh", "-c", command], cwd="/", env=env, check=True, timeout=300)
    decision = json.loads((home / "mlctl-retrain-cancer.log").read_text())
    assert decision["outcome"] == "promoted" and decision["production"]["after"] == 1
    assert project.history()[-1]["actor"] == "cron"
