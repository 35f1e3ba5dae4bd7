"""The door to `mlctl push` / `mlctl pull` (data, runs, run-cache and registry in one go).

    api.push(repo, remote=None, all_commits=False, jobs=None, pushed=None, ...) -> ShareReport
    api.pull(repo, remote=None, all_commits=False, checkout=True, jobs=None, ...) -> ShareReport
"""

from __future__ import annotations

from mlctl.sharing.parts import PartReport, ShareReport, pull, push

__all__ = ["push", "pull", "ShareReport", "PartReport"]
