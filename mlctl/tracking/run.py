"""``Run``: one run as read from the index. JSON columns are decoded on first use, so
listing 100,000 runs builds 100,000 cheap objects."""

from __future__ import annotations

import math
import time

from mlctl.errors import ObjectMissingError
from mlctl.store.elsewhere import on_backend
from mlctl.store.times import epoch_to_iso
from mlctl.tracking import values
from mlctl.tracking.artifact_trees import artifact_map
from mlctl.tracking.db import COLUMNS, database

OUTPUT_TAG = "out."
_INDEX = {name: i for i, name in enumerate(COLUMNS)}


class Run:
    """Attributes: id, experiment, name, status (running/finished/failed/killed),
    start_time/end_time (epoch seconds), duration (seconds), host, git, command,
    exit_code, parent_id, deleted, params, metrics (key -> latest value), tags,
    artifacts (relpath -> object hash), data (data path -> hash: what it used), outputs
    (path -> hash: what it wrote, from its ``out.PATH`` tags), env."""

    __slots__ = ("_row", "_repo", "_decoded")

    def __init__(self, row: tuple, repo=None):
        self._row = row
        self._repo = repo
        self._decoded: dict = {}

    def __repr__(self) -> str:
        return f"Run({self.id!r}, experiment={self.experiment!r}, status={self.status!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Run) and other._row == self._row

    def __hash__(self) -> int:
        return hash(self.id)

    def _col(self, name: str):
        return self._row[_INDEX[name]]

    def _json(self, name: str):
        if name not in self._decoded:
            raw = self._col(name)
            self._decoded[name] = values.metrics_from_json(raw) if name == "metrics" else values.loads(raw)
        return self._decoded[name]

    id = property(lambda self: self._col("id"))
    experiment = property(lambda self: self._col("experiment"))
    name = property(lambda self: self._col("name"))
    status = property(lambda self: self._col("status"))
    start_time = property(lambda self: self._col("start_time"))
    end_time = property(lambda self: self._col("end_time"))
    host = property(lambda self: self._col("host"))
    command = property(lambda self: self._col("command"))
    exit_code = property(lambda self: self._col("exit_code"))
    parent_id = property(lambda self: self._col("parent_id"))
    record = property(lambda self: self._col("record"))
    origin = property(lambda self: self._col("origin"))
    deleted = property(lambda self: bool(self._col("deleted")))
    params = property(lambda self: self._json("params"))
    metrics = property(lambda self: self._json("metrics"))
    tags = property(lambda self: self._json("tags"))
    artifacts_value = property(lambda self: self._json("artifacts"))  # a tree hash or an old flat map

    @property
    def artifacts(self) -> dict[str, str]:
        """Relative name -> object hash, read from the run's tree (or its old flat map)."""
        if "artifact_map" not in self._decoded:
            self._decoded["artifact_map"] = artifact_map(self._repo, self.artifacts_value, f"run {self.id}")
        return self._decoded["artifact_map"]

    def artifacts_if_known(self) -> dict[str, str] | None:
        """The artifacts, or None for a teammate's run on a team backend whose artifact list
        is neither here nor on the remote yet (its clone has not pushed): a listing shows
        the rest of the run. Without a backend a missing tree is damage, raised."""
        try:
            return self.artifacts
        except ObjectMissingError:
            if not on_backend(self._repo):
                raise
            return None

    data = property(lambda self: self._json("data"))
    env = property(lambda self: self._json("env"))

    @property
    def outputs(self) -> dict:
        """What the run wrote: its ``out.PATH`` tags (a pipeline run sets one per stage
        output and metrics file), so the record format stays as it was."""
        return {key[len(OUTPUT_TAG):]: value for key, value in self.tags.items()
                if key.startswith(OUTPUT_TAG) and len(key) > len(OUTPUT_TAG)}

    @property
    def git(self) -> dict:
        dirty = self._col("git_dirty")
        return {"commit": self._col("git_commit"), "dirty": None if dirty is None else bool(dirty)}

    @property
    def duration(self) -> float | None:
        end = self.end_time
        if end is None:
            return time.time() - self.start_time if self.status == "running" else None
        return max(0.0, end - self.start_time)

    def metric_history(self, key: str) -> list[tuple[int, float, float]]:
        """Every point of ``key`` as (step, value, timestamp), by step then time."""
        db = database(self._repo)
        with db.mutex:
            rows = db.conn.execute(
                "SELECT step, value, ts FROM points WHERE run_id = ? AND key = ? ORDER BY step, ts",
                (self.id, key)).fetchall()
        return [(step, math.nan if value is None else value, ts) for step, value, ts in rows]

    def metric_keys_with_counts(self) -> dict[str, int]:
        db = database(self._repo)
        with db.mutex:
            rows = db.conn.execute("SELECT key, COUNT(*) FROM points WHERE run_id = ? GROUP BY key ORDER BY key",
                                   (self.id,)).fetchall()
        return dict(rows)

    def to_json(self, history: bool = False) -> dict:
        out = {
            "id": self.id,
            "experiment": self.experiment,
            "name": self.name,
            "status": self.status,
            "deleted": self.deleted,
            "start_time": epoch_to_iso(self.start_time),
            "end_time": epoch_to_iso(self.end_time),
            "duration": self.duration,
            "parent_id": self.parent_id,
            "host": self.host,
            "git": self.git,
            "command": self.command,
            "exit_code": self.exit_code,
            "params": self.params,
            "metrics": self.metrics,
            "tags": self.tags,
            "artifacts": self.artifacts_if_known(),
            "data": self.data,
            "outputs": self.outputs,
            "env": self.env,
            "origin": self.origin,
        }
        if history:
            out["metric_history"] = {
                key: [{"step": s, "value": v, "timestamp": epoch_to_iso(t)} for s, v, t in self.metric_history(key)]
                for key in self.metric_keys_with_counts()
            }
        return out
