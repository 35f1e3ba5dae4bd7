"""The prediction log: what a model server saw and answered, as parquet objects in the store.

Format (docs/monitoring.md, "Prediction log"): each flush writes one parquet object with
the columns ``request_id, timestamp (UTC), model, version, role, instance, <inputs...>,
prediction`` and appends an entry ``{object, rows, first_ts, last_ts, versions}`` to the
JSON ref ``predictions/<model>`` (``{"kind": "mlctl.predictions", "version": 1, "entries": [...]}``;
``{"format": 1, ...}`` before store/records.py, still read) under the ref's lock.
Object before ref: a writer killed between the two leaves only an unreferenced object,
which ``gc`` removes; several writer processes never lose each other's entries.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, Iterable, Mapping

from mlctl.errors import NotFoundError, StoreDamageError, UsageError
from mlctl.predlog import tables
from mlctl.store.records import load_record, tag
from mlctl.store.times import parse_since, parse_time, utc_datetime

REF_PREFIX = "predictions/"
KIND = "mlctl.predictions"
VERSION = 1
ROLES = ("primary", "canary", "shadow")


def ref_name(model: str) -> str:
    return REF_PREFIX + model


class PredictionLogWriter:
    """Buffers rows and flushes them as one parquet object per flush.

    A row is a mapping with ``request_id``, ``version``, ``prediction``, ``inputs`` (feature
    -> value) and optionally ``role`` (primary/canary/shadow, default primary), ``instance``
    (position in the request, default 0) and ``timestamp`` (aware datetime or epoch
    seconds; default now). Thread-safe; flushes by itself past ``max_rows`` rows or when the
    oldest buffered row is ``max_age`` seconds old.
    """

    def __init__(self, repo, model: str, max_rows: int = 10_000, max_age: float = 60.0):
        repo.refs.path(ref_name(model))  # validates the model name early
        self.repo, self.model = repo, model
        self.max_rows, self.max_age = max_rows, max_age
        self._parts: list = []  # checked rows (list of dicts) or block tables, in order
        self._count = 0
        self._oldest: float | None = None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        checked = [_check_row(row) for row in rows]
        if checked:
            self._add(checked, len(checked))

    def append_block(self, block: Mapping[str, Any]) -> None:
        """A server's run of requests to one version, as arrays (see tables.block_table):
        the same rows as ``append`` would log, without a Python object per row."""
        _check_role(block["role"])
        table = tables.block_table(self.model, block)
        if table.num_rows:
            self._add(table, table.num_rows)

    def _add(self, part, rows: int) -> None:
        with self._lock:
            if self._oldest is None:
                self._oldest = time.monotonic()
            self._parts.append(part)
            self._count += rows
            due = self._count >= self.max_rows or time.monotonic() - self._oldest >= self.max_age
        if due:
            self.flush()

    def flush(self) -> dict | None:
        """Write the buffered rows; returns the log entry, or None when nothing was buffered."""
        with self._flush_lock:
            with self._lock:
                parts, self._parts, self._count, self._oldest = self._parts, [], 0, None
            if not parts:
                return None
            table = tables.merged([tables.rows_table(self.model, p) if isinstance(p, list) else p for p in parts])
            digest = self.repo.objects.put_bytes(tables.to_parquet(table))
            entry = tables.entry(digest, table)
            self.repo.refs.update_json(ref_name(self.model), lambda log: _add_entry(log, entry))
            return entry

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "PredictionLogWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_row(row: Mapping[str, Any]) -> dict:
    missing = [k for k in ("request_id", "version", "prediction", "inputs") if k not in row]
    if missing:
        raise UsageError(f"prediction log row lacks {', '.join(missing)}")
    role = _check_role(row.get("role", "primary"))
    if not isinstance(row["inputs"], Mapping):
        raise UsageError("prediction log row 'inputs' must be a mapping of feature -> value")
    return {"request_id": str(row["request_id"]), "version": int(row["version"]), "role": role,
            "instance": int(row.get("instance", 0)), "timestamp": _timestamp(row.get("timestamp")),
            "inputs": dict(row["inputs"]), "prediction": row["prediction"]}


def _check_role(role) -> str:
    if role not in ROLES:
        raise UsageError(f"prediction log role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _timestamp(value) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.timezone.utc)
    return utc_datetime(value, "prediction log timestamp")


def _add_entry(log: dict | None, entry: dict) -> dict:
    """``log`` (either convention, or None) with ``entry`` appended, tagged kind+version."""
    body = {k: v for k, v in (log or {"entries": []}).items() if k not in ("format", "kind", "version")}
    body["entries"].append(entry)
    return tag(KIND, VERSION, body)


# -- reading ------------------------------------------------------------------------------
def log_entries(repo, model: str, since: dt.datetime | None = None) -> list[dict]:
    """The log's entries (oldest first) that may hold rows at or after ``since``."""
    log = repo.refs.read_json(ref_name(model))
    if log is None:
        raise NotFoundError(f"no prediction log for model {model!r}",
                            hint=f"serve it with `mlctl serve {model} --log-predictions`")
    entries = read_log(log, model)
    if since is not None:
        entries = [e for e in entries if parse_time(e["last_ts"], f"last_ts in {ref_name(model)}") >= since]
    return entries


def read_log(log: Any, model: str) -> list[dict]:
    """The entries of a prediction-log ref's document (either convention; exit 3 if damaged)."""
    where = f"ref {ref_name(model)}"
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise StoreDamageError(f"{where} is not a prediction log")
    return load_record(log, KIND, where, untagged=True)["entries"]


def list_logged_models(repo) -> list[str]:
    return [name[len(REF_PREFIX):] for name in repo.refs.list(REF_PREFIX.rstrip("/"))]


def segment_path(repo, entry: dict):
    """The file of one entry's parquet object; ObjectMissingError when it is gone."""
    path = repo.objects.path(entry["object"])
    if not path.is_file():
        from mlctl.errors import ObjectMissingError

        # prediction logs stay in the store of the machine that served: no remote has them
        raise ObjectMissingError(entry["object"], "prediction log object",
                                 hint="prediction logs are not shared by `mlctl push`; run this where "
                                      "`mlctl serve --log-predictions` wrote them, or `mlctl fsck` to see the damage")
    return path


def read_segment(repo, entry: dict, columns: list[str] | None = None):
    """One entry's rows as an arrow table (only ``columns`` when given)."""
    import pyarrow.parquet as pq

    return pq.read_table(segment_path(repo, entry), columns=columns)


def read_predictions(repo, model: str, since=None):
    """The log of ``model`` as a pandas DataFrame, oldest first (rows at/after ``since``)."""
    import pyarrow.compute as pc

    since = parse_since(since)
    entries = log_entries(repo, model, since)
    segments = [read_segment(repo, e) for e in entries]
    table = tables.concat(segments) if segments else _empty_table()
    if since is not None and table.num_rows:
        table = table.filter(pc.greater_equal(table["timestamp"], arrow_time(since)))
    return table.to_pandas()


def _empty_table():
    import pyarrow as pa

    return pa.table({"request_id": pa.array([], pa.string()),
                     "timestamp": pa.array([], pa.timestamp("us", tz="UTC")),
                     "model": pa.array([], pa.string()), "version": pa.array([], pa.int64()),
                     "role": pa.array([], pa.string()), "instance": pa.array([], pa.int32()),
                     "prediction": pa.array([], pa.null())})


def arrow_time(when: dt.datetime):
    import pyarrow as pa

    return pa.scalar(when.astimezone(dt.timezone.utc), pa.timestamp("us", tz="UTC"))
