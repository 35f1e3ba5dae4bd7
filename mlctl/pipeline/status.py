"""`pipeline status`: which stages are stale and the changed input that made each stale."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.pipeline import loader, lockfile, where
from mlctl.pipeline.plan import OK, RESTORE, PlanItem, plan
from mlctl.store.repo import Repo

STATES = {OK: "up to date", RESTORE: "stale (restorable from the run-cache)", "run": "stale"}


@dataclass
class StatusReport:
    items: list[PlanItem]
    last_ran: dict[str, dict] = field(default_factory=dict)  # where.read: stage -> where it last ran

    @property
    def stale(self) -> list[PlanItem]:
        return [item for item in self.items if item.action != OK]

    def to_json(self) -> dict:
        return {"stale": bool(self.stale),
                "stages": [{**item.to_json(), "state": "ok" if item.action == OK else "stale",
                            "restorable": item.action == RESTORE, "last_ran": self.last_ran.get(item.stage)}
                           for item in self.items]}


def status(repo: Repo, targets=()) -> StatusReport:
    return StatusReport(plan(repo, loader.load(repo), lockfile.read(repo), targets), where.read(repo))
