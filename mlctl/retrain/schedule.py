"""`mlctl retrain --print-schedule`: a crontab line and CI jobs to paste.

All three run `mlctl retrain` where the store lives (the registry and the prediction log
the server writes are in .mlctl/, which git does not carry): cron on the serving machine,
or a CI runner that keeps its workspace between jobs. Each names who decided
(``MLCTL_ACTOR``, shown by `mlctl model history`) and never runs two retrains at once
(CI concurrency groups; the retrain lock covers the rest).
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys

from mlctl.errors import UsageError

DEFAULT_CRON = "17 2 * * *"   # nightly, off the hour every other job starts on
_FIELD = re.compile(r"^[A-Za-z0-9*/,\-]+$")


def check_cron(expr: str) -> str:
    fields = str(expr).split()
    if len(fields) != 5 or not all(_FIELD.match(f) for f in fields):
        raise UsageError(f"invalid cron schedule {expr!r}: expected five fields (minute hour day month weekday)",
                         hint=f'e.g. --cron "{DEFAULT_CRON}" (nightly at 02:17)')
    return " ".join(fields)


def mlctl_command() -> str:
    """How cron (with its minimal PATH) should start this very mlctl."""
    found = shutil.which("mlctl")
    return shlex.quote(found) if found else f"{shlex.quote(sys.executable)} -m mlctl"


def schedule(root, model: str, policy_arg: str | None, cron: str = DEFAULT_CRON) -> dict:
    cron = check_cron(cron)
    args = f"retrain {model}" + (f" --policy {shlex.quote(policy_arg)}" if policy_arg else "")
    return {"model": model, "cron": cron,
            "crontab": _crontab(root, args, model, cron),
            "github_actions": _github(args, model, cron),
            "gitlab_ci": _gitlab(args, model, cron)}


def _crontab(root, args: str, model: str, cron: str) -> str:
    log = f'"$HOME/mlctl-retrain-{model}.log"'
    return (f"{cron} cd {shlex.quote(str(root))} && MLCTL_ACTOR=cron {mlctl_command()} {args} -q --json "
            f">> {log} 2>&1")


def _github(args: str, model: str, cron: str) -> str:
    return f"""# .github/workflows/retrain-{model}.yml
# Runs where the store lives: a self-hosted runner that keeps its workspace (.mlctl/ holds
# the registry and the prediction log the model server writes).
name: retrain-{model}
on:
  schedule:
    - cron: "{cron}"
  workflow_dispatch:
    inputs:
      force:
        description: Retrain even without drift or new data
        type: boolean
        default: false
concurrency:
  group: retrain-{model}
  cancel-in-progress: false
jobs:
  retrain:
    runs-on: [self-hosted]
    env:
      MLCTL_ACTOR: "github-actions:${{{{ github.workflow }}}}"
      NO_COLOR: "1"
    steps:
      - uses: actions/checkout@v4
        with:
          clean: false   # keep .mlctl/ between runs
      - name: Retrain on drift or new data (exit 1 = candidate rejected, see the summary)
        run: mlctl {args} --json ${{{{ inputs.force && '--force' || '' }}}} > retrain.json
      - name: Decision
        if: always()
        run: cat retrain.json
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: retrain-{model}
          path: retrain.json
"""


def _gitlab(args: str, model: str, cron: str) -> str:
    return f"""# .gitlab-ci.yml job; create the schedule in CI/CD > Schedules with cron "{cron}".
# Runs where the store lives: a runner tagged `mlctl` that keeps its workspace.
retrain-{model}:
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
    - if: $CI_PIPELINE_SOURCE == "web"
  tags: [mlctl]
  resource_group: retrain-{model}   # one at a time
  variables:
    GIT_CLEAN_FLAGS: none           # keep .mlctl/ between runs
    MLCTL_ACTOR: "gitlab-ci:$CI_PIPELINE_ID"
    NO_COLOR: "1"
  script:
    - mlctl {args} --json $RETRAIN_FLAGS > retrain.json   # RETRAIN_FLAGS=--force to force
  after_script:
    - cat retrain.json
  artifacts:
    when: always
    paths: [retrain.json]
"""


def schedule_for(repo, name: str | None, policy_arg: str | None, cron: str | None) -> dict:
    """The snippets for the policy's model (the policy is validated first: a schedule for a
    policy that cannot run would fail every night)."""
    import os

    from mlctl.retrain.policy import resolve_policy

    policy = resolve_policy(repo, name, policy_arg)
    shown = None
    if policy_arg:  # as the job will see it: relative to the repository root
        absolute = os.path.abspath(policy_arg)
        inside = os.path.commonpath([absolute, str(repo.root)]) == str(repo.root)
        shown = os.path.relpath(absolute, repo.root) if inside else absolute
    return schedule(repo.root, policy.model, shown, cron or DEFAULT_CRON)
