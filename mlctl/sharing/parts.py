"""`mlctl push` / `mlctl pull`: share everything a teammate needs, in one command.

Four parts (five on a team backend), each through its component's own sync, against one remote:

    data      push: the data of the current branch's history and the workspace
              (``all_commits``: of everything git keeps; from a pre-push hook: of the
              commits being pushed); pull: the workspace's (``all_commits``: every
              revision's), then a checkout unless ``checkout=False``
    runs      ended runs and their artifacts (tracking/share.py)
    pipeline  the run-cache (pipeline/sync.py)
    registry  versions, artifacts, alias history, deployments (registry/sync.py)
    drift     on a team backend only: the HTML reports of the shared drift checks
              (monitoring/reports_share.py); without one, checks stay in their clone

A part that fails does not stop the others (each is resumable and idempotent, so a
rerun moves only the rest); the report says per part what moved, what conflicted and
what failed. Exit code: the worst part's error code, else 1 when a part reports
conflicts (a contested alias, a run changed on both sides), else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from mlctl.data import api as data_api
from mlctl.errors import EXIT_FOUND, EXIT_OK, MlctlError
from mlctl.monitoring import api as monitoring_api
from mlctl.pipeline import api as pipeline_api
from mlctl.registry import api as registry_api
from mlctl.store.elsewhere import on_backend
from mlctl.store.remotes import get_remote
from mlctl.store.repo import Repo
from mlctl.tracking import api as tracking_api

PARTS = ("data", "runs", "pipeline", "registry")


@dataclass
class PartReport:
    name: str
    summary: str = ""
    result: dict | None = None
    conflicts: int = 0
    error: MlctlError | None = None
    notes: list[str] = field(default_factory=list)  # what a user should read: warnings, conflicts

    def to_json(self) -> dict:
        error = None
        if self.error is not None:
            error = {"message": self.error.message, "hint": self.error.hint, "code": self.error.exit_code}
        return {"summary": self.summary, "result": self.result, "conflicts": self.conflicts, "error": error,
                "notes": self.notes}


@dataclass
class ShareReport:
    verb: str  # push | pull
    remote: str
    parts: list[PartReport] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        codes = [p.error.exit_code for p in self.parts if p.error is not None and p.error.exit_code != EXIT_FOUND]
        if codes:
            return max(codes)
        return EXIT_FOUND if any(p.conflicts or p.error for p in self.parts) else EXIT_OK

    def to_json(self) -> dict:
        return {"verb": self.verb, "remote": self.remote, "exit_code": self.exit_code,
                "parts": {p.name: p.to_json() for p in self.parts}}


def push(repo: Repo, remote: str | None = None, all_commits: bool = False, jobs: int | None = None,
         pushed: str | None = None, git_remote: str | None = None, progress=None) -> ShareReport:
    """``pushed``: the lines git gives a pre-push hook; then the data part sends the data of
    those commits (see data/pushed.py) instead of the current branch's history."""
    name = _remote_name(repo, remote)
    steps = {
        "data": lambda: _data_push(repo, name, all_commits, jobs, pushed, git_remote, progress),
        "runs": lambda: _runs("push", repo, name, jobs, progress),
        "pipeline": lambda: _pipeline("push", repo, name, jobs),
        "registry": lambda: _registry("push", repo, name, jobs),
        "drift": lambda: _drift("push", repo, name, jobs),
    }
    return _run_parts("push", name, steps, _parts(repo))


def pull(repo: Repo, remote: str | None = None, all_commits: bool = False, checkout: bool = True,
         jobs: int | None = None, progress=None) -> ShareReport:
    name = _remote_name(repo, remote)
    steps = {
        "data": lambda: _data_pull(repo, name, all_commits, checkout, jobs, progress),
        "runs": lambda: _runs("pull", repo, name, jobs, progress),
        "pipeline": lambda: _pipeline("pull", repo, name, jobs),
        "registry": lambda: _registry("pull", repo, name, jobs),
        "drift": lambda: _drift("pull", repo, name, jobs),
    }
    return _run_parts("pull", name, steps, _parts(repo))


def _remote_name(repo: Repo, remote: str | None) -> str:
    """The remote every part uses; exit 2 once here (not four times) when there is none."""
    return get_remote(repo, remote).name


def _parts(repo: Repo) -> tuple[str, ...]:
    return PARTS + ("drift",) if on_backend(repo) else PARTS


def _run_parts(verb: str, remote: str, steps: dict[str, Callable[[], PartReport]], parts: tuple[str, ...]) -> ShareReport:
    report = ShareReport(verb, remote)
    for name in parts:
        try:
            part = steps[name]()
        except MlctlError as exc:
            part = PartReport(name, summary=f"failed: {exc.message}", error=exc)
        report.parts.append(part)
    return report


# -- the parts --------------------------------------------------------------------------------------
def _data_push(repo, remote, all_commits, jobs, pushed, git_remote, progress) -> PartReport:
    pointers, warnings, scope = _pointers_to_push(repo, all_commits, pushed, git_remote)
    result = data_api.push(repo, remote=remote, jobs=jobs, pointers=pointers, progress=progress)
    result.warnings = warnings + result.warnings
    return PartReport("data", f"{_n(result.transferred, 'object')} sent ({_n(result.paths, 'pointer version')} of {scope})",
                      result.to_json(), notes=result.warnings)


def _pointers_to_push(repo, all_commits: bool, pushed: str | None, git_remote: str | None):
    """(pointer versions, warnings, what they are): of the commits a `git push` sends, of
    every commit, or (default) of the current branch's history and the workspace."""
    if pushed is not None:
        return data_api.pointers_pushed(repo, pushed, git_remote), [], "the pushed commits"
    if all_commits:
        return (*data_api.select_pointers(repo, all_commits=True), "every commit")
    history, warnings = data_api.select_pointers(repo, rev="HEAD", all_commits=True) if data_api.in_git(repo) else ([], [])
    return data_api.tracked(repo) + history, warnings, "the current branch's history"


def _data_pull(repo, remote, all_commits, checkout, jobs, progress) -> PartReport:
    result = data_api.pull(repo, remote=remote, jobs=jobs, all_commits=all_commits, checkout=checkout,
                       progress=progress)
    summary = f"{_n(result.transferred, 'object')} received ({_n(result.paths, 'pointer version')})"
    if result.checkout is not None:
        summary += f"; checkout: {len(result.checkout.written)} written, {len(result.checkout.deleted)} deleted"
    return PartReport("data", summary, result.pull_json(), notes=result.warnings + (result.checkout.warnings
                                                                                   if result.checkout else []))


def _runs(verb: str, repo, remote, jobs, progress) -> PartReport:
    result = getattr(tracking_api, verb)(repo, remote, None, jobs=jobs, progress=progress)
    moved = "sent" if verb == "push" else "received"
    summary = f"{_n(len(result.runs), 'run')} {moved}, {result.unchanged} unchanged, {_n(result.objects, 'object')}"
    if result.conflicts:
        summary += f"; {len(result.conflicts)} changed on both sides (kept the local ones)"
    notes = [f"run {run_id} changed here and on {remote} since it was last shared; kept the local one"
             for run_id in result.conflicts]
    return PartReport("runs", summary, result.to_json(), conflicts=len(result.conflicts), notes=notes)


def _pipeline(verb: str, repo, remote, jobs) -> PartReport:
    result = getattr(pipeline_api, verb)(repo, remote, jobs)
    moved = "sent" if verb == "push" else "received"
    summary = f"{_n(result.entries, 'run-cache entry', 'run-cache entries')} {moved}, {_n(result.objects, 'object')}"
    if result.skipped:
        summary += f", {len(result.skipped)} skipped"
    return PartReport("pipeline", summary, result.to_json())


def _registry(verb: str, repo, remote, jobs) -> PartReport:
    result = getattr(registry_api, verb)(repo, remote, jobs)
    data = result.to_json()
    conflicts = len(data.get("conflicts") or [])
    moved = "sent" if verb == "push" else "received"
    summary = f"{_n(len(data.get('versions') or []), 'model version')}, {_n(data.get('events', 0), 'alias event')} {moved}"
    if conflicts:
        summary += f"; {conflicts} conflicting alias moves (see `mlctl model history`)"
    notes = [f"renumbered {r['model']}:{r['from']} -> {r['model']}:{r['to']}: {r['reason']}"
             for r in data.get("renumbered") or []]
    notes += [f"conflict: {c['message']}" for c in data.get("conflicts") or []]
    notes += result.held_back_notes() if verb == "push" else []
    return PartReport("registry", summary, data, conflicts=conflicts, notes=notes)


def _drift(verb: str, repo, remote, jobs) -> PartReport:
    result = (monitoring_api.push_reports if verb == "push" else monitoring_api.pull_reports)(repo, remote, jobs)
    moved = "sent" if verb == "push" else "received"
    summary = f"{_n(result.objects, 'drift report')} {moved} of {result.reports}"
    if result.elsewhere:
        summary += f"; {result.elsewhere} in other clones, not on the remote yet" if verb == "pull" else \
            f"; {result.elsewhere} in other clones (theirs to send)"
    return PartReport("drift", summary, result.to_json())


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"
