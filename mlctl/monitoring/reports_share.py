"""Drift reports on a team backend: a check's record is a row every clone reads at once,
its HTML report an object in the store of the clone that ran the check. `mlctl push`
sends this clone's reports to the remote by hash, `mlctl pull` fetches every report the
remote holds, and reading one that is not here (the dashboard) fetches it
(store/elsewhere.py). Without a backend, records and reports stay in their clone.

    push_reports(repo, remote) -> ReportShare    pull_reports(repo, remote) -> ReportShare
"""

from __future__ import annotations

from dataclasses import dataclass

from mlctl.monitoring.records import report_objects
from mlctl.store.repo import Repo


@dataclass
class ReportShare:
    reports: int = 0  # reports the checks name
    objects: int = 0  # reports sent or received
    elsewhere: int = 0  # push: reports of other clones' checks, not here (their clones send them)

    def to_json(self) -> dict:
        return {"reports": self.reports, "objects": self.objects, "elsewhere": self.elsewhere}


def push_reports(repo: Repo, remote: str | None = None, jobs: int | None = None) -> ReportShare:
    from mlctl.store.transfer import RemoteStore

    named = set(report_objects(repo))
    here = {d for d in named if repo.objects.exists(d)}
    sent = RemoteStore.open(repo, remote).push(here, jobs=jobs) if here else 0
    return ReportShare(len(named), sent, len(named) - len(here))


def pull_reports(repo: Repo, remote: str | None = None, jobs: int | None = None) -> ReportShare:
    from mlctl.store.transfer import RemoteStore

    named = set(report_objects(repo))
    absent = {d for d in named if not repo.objects.exists(d)}
    if not absent:
        return ReportShare(len(named))
    store = RemoteStore.open(repo, remote)
    there = absent - store.missing(absent)  # the rest: not pushed yet by their clones
    return ReportShare(len(named), store.pull(there, jobs=jobs) if there else 0, len(absent - there))
