"""The registry on the PostgreSQL backend (``backend.url``): refindex.py's documents as rows
(schema step 2, mlctl/store/backend/schema.py), on the process's one backend connection.

    models          name, doc: the versions index less its versions (next, deleted, ...)
    model_versions  (model, version): record hash, the index entry
    model_records   hash -> the record's canonical JSON, checked against the hash when read
    model_aliases   (model, alias) -> version
    alias_history   (model, seq) -> entry, seq from 1 without gaps
    deployments     (model, id) -> record

A change to a model (``lock``) is one transaction holding the model's transaction-scoped
advisory lock: every read inside it sees every earlier holder's commit, and a caller
that raises rolls everything back. Two clients on two machines promoting at once are
therefore serialised exactly as two processes on the file lock are, and the second sees
the first's move (aliases.py turns that into "moved while you promoted"). An update
outside a lock takes the lock for itself. Updates write only the rows that changed.

Version records are also written to the local object store, as without a backend: `mlctl
model push` carries them, with the model files, to the remote by hash.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Callable, Iterator

from mlctl.errors import LockTimeoutError, StoreDamageError
from mlctl.registry.indexdocs import RECORD_KIND, empty_aliases, empty_index, untagged
from mlctl.store.backend.advisory import lock_key
from mlctl.store.backend.connection import psycopg_module
from mlctl.store.hashing import hash_bytes
from mlctl.store.records import canonical, load_record
from mlctl.tracking.api import database


def model_key(name: str) -> int:
    """The advisory lock key (signed 64-bit) of a model's changes."""
    return lock_key(f"mlctl.registry {name}")


def _text(value) -> str:
    return canonical(value).decode("ascii")


class PgIndex:
    """The registry of one repository's backend."""

    def __init__(self, repo):
        self.repo = repo
        self.db = database(repo)

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[object]:
        with self.db.write() as conn:
            conn.execute(f"SET LOCAL lock_timeout = {max(1, int(self.repo.lock_timeout() * 1000))}")
            try:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (model_key(name),))
            except psycopg_module().errors.LockNotAvailable:
                raise LockTimeoutError(f"model {name} is locked by another client of the backend",
                                       hint="wait for it to finish, or raise MLCTL_LOCK_TIMEOUT (seconds)") from None
            yield conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[object]:
        """One snapshot for a read of several tables; inside a change, that change's view."""
        with self.db.mutex:
            if self.db.raw.info.transaction_status:  # not IDLE: within this thread's change
                yield self.db.conn
            else:
                with self.db.read() as conn:
                    yield conn

    # -- versions index --------------------------------------------------------------------
    def read_index(self, name: str) -> dict:
        with self._reading() as conn:
            return self._index(conn, name)

    def _index(self, conn, name: str) -> dict:
        row = conn.execute("SELECT doc FROM models WHERE name = ?", (name,)).fetchone()
        if row is None:
            return empty_index()
        doc = _loads(row[0], f"model {name}")
        rows = conn.execute("SELECT version, entry FROM model_versions WHERE model = ? ORDER BY version", (name,))
        doc["versions"] = {str(v): _loads(entry, f"model {name}:{v}") for v, entry in rows.fetchall()}
        return doc

    def update_index(self, name: str, fn: Callable[[dict], dict]) -> dict:
        with self.lock(name) as conn:
            old = self._index(conn, name)
            new = fn(copy.deepcopy(old))
            if new is None:
                raise StoreDamageError(f"refused to delete model {name}'s version index")
            rest = {k: v for k, v in untagged(new).items() if k != "versions"}
            conn.execute("INSERT INTO models (name, doc) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET doc = "
                         "excluded.doc", (name, _text(rest)))
            gone = [int(v) for v in old["versions"] if v not in new["versions"]]
            if gone:
                conn.execute("DELETE FROM model_versions WHERE model = ? AND version = ANY(?)", (name, gone))
            changed = [(name, int(v), e["record"], _text(e)) for v, e in new["versions"].items()
                       if old["versions"].get(v) != e]
            conn.executemany("INSERT INTO model_versions (model, version, record, entry) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (model, version) DO UPDATE SET record = excluded.record, "
                             "entry = excluded.entry", changed)
            return new

    def model_names(self) -> list[str]:
        with self._reading() as conn:
            return [name for (name,) in conn.execute("SELECT name FROM models ORDER BY name").fetchall()]

    # -- aliases and history ---------------------------------------------------------------
    def read_aliases(self, name: str) -> dict:
        with self._reading() as conn:
            return self._aliases(conn, name)

    def _aliases(self, conn, name: str) -> dict:
        doc = empty_aliases()
        rows = conn.execute("SELECT alias, version FROM model_aliases WHERE model = ? ORDER BY alias", (name,))
        doc["aliases"] = dict(rows.fetchall())
        rows = conn.execute("SELECT seq, entry FROM alias_history WHERE model = ? ORDER BY seq", (name,))
        doc["history"] = [_loads(entry, f"model {name}'s history entry {seq}") for seq, entry in rows.fetchall()]
        return doc

    def update_aliases(self, name: str, fn: Callable[[dict], dict]) -> dict:
        with self.lock(name) as conn:
            if conn.execute("SELECT 1 FROM models WHERE name = ?", (name,)).fetchone() is None:
                raise StoreDamageError(f"model {name} has no versions on the backend to move aliases of")
            old = self._aliases(conn, name)
            new = fn(copy.deepcopy(old))
            gone = [a for a in old["aliases"] if a not in new["aliases"]]
            if gone:
                conn.execute("DELETE FROM model_aliases WHERE model = ? AND alias = ANY(?)", (name, gone))
            conn.executemany("INSERT INTO model_aliases (model, alias, version) VALUES (?, ?, ?) ON CONFLICT "
                             "(model, alias) DO UPDATE SET version = excluded.version",
                             [(name, a, int(v)) for a, v in new["aliases"].items() if old["aliases"].get(a) != v])
            self._write_history(conn, name, old["history"], new["history"])
            return new

    @staticmethod
    def _write_history(conn, name: str, old: list[dict], new: list[dict]) -> None:
        if len(new) < len(old):
            conn.execute("DELETE FROM alias_history WHERE model = ? AND seq > ?", (name, len(new)))
        conn.executemany("INSERT INTO alias_history (model, seq, entry) VALUES (?, ?, ?) ON CONFLICT (model, seq) "
                         "DO UPDATE SET entry = excluded.entry",
                         [(name, seq, _text(e)) for seq, e in enumerate(new, 1)
                          if seq > len(old) or old[seq - 1] != e])

    def alias_stamp(self, name: str, latest: bool):
        """(rows, last) of the model's versions or history: every move adds a history row."""
        table, column = ("model_versions", "version") if latest else ("alias_history", "seq")
        with self._reading() as conn:
            return tuple(conn.execute(f"SELECT count(*), max({column}) FROM {table} WHERE model = ?",
                                      (name,)).fetchone())

    # -- records ---------------------------------------------------------------------------
    def put_record(self, record: dict) -> str:
        data = canonical(record)
        digest = self.repo.objects.put_bytes(data)
        self._insert_record(digest, data)
        return digest

    def adopt_record(self, digest: str) -> None:
        self._insert_record(digest, self.repo.objects.get_bytes(digest, verify=True))

    def _insert_record(self, digest: str, data: bytes) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO model_records (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
                         (digest, data.decode("utf-8")))

    def has_record(self, digest: str) -> bool:
        with self._reading() as conn:
            return conn.execute("SELECT 1 FROM model_records WHERE hash = ?", (digest,)).fetchone() is not None

    def read_record(self, digest: str, what: str) -> dict:
        with self._reading() as conn:
            row = conn.execute("SELECT body FROM model_records WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            raise StoreDamageError(f"the record of {what} ({digest}) is missing from the backend")
        data = row[0].encode("utf-8")
        if hash_bytes(data) != digest:
            raise StoreDamageError(f"the record of {what} ({digest}) on the backend does not match its hash")
        return load_record(data, RECORD_KIND, f"the record of {what} ({digest})", untagged=True)

    # -- deployments -----------------------------------------------------------------------
    def write_deployment(self, model: str, dep_id: str, record: dict) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO deployments (model, id, record) VALUES (?, ?, ?) ON CONFLICT (model, id) "
                         "DO UPDATE SET record = excluded.record", (model, dep_id, _text(record)))

    def update_deployment(self, model: str, dep_id: str, fn: Callable[[dict | None], dict]) -> dict:
        with self.db.write() as conn:
            row = conn.execute("SELECT record FROM deployments WHERE model = ? AND id = ? FOR UPDATE",
                               (model, dep_id)).fetchone()
            new = fn(None if row is None else _loads(row[0], f"deployment {dep_id}"))
            conn.execute("UPDATE deployments SET record = ? WHERE model = ? AND id = ?", (_text(new), model, dep_id))
            return new

    def remove_deployment(self, model: str, dep_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM deployments WHERE model = ? AND id = ?", (model, dep_id))

    def deployments(self, model: str | None = None) -> Iterator[tuple[str, object]]:
        with self._reading() as conn:
            if model is None:
                rows = conn.execute("SELECT id, record FROM deployments ORDER BY model, id").fetchall()
            else:
                rows = conn.execute("SELECT id, record FROM deployments WHERE model = ? ORDER BY id", (model,)).fetchall()
        for dep_id, record in rows:
            yield dep_id, _loads(record, f"deployment {dep_id}")

    def read_deployment(self, model: str, dep_id: str):
        with self._reading() as conn:
            row = conn.execute("SELECT record FROM deployments WHERE model = ? AND id = ?", (model, dep_id)).fetchone()
        return None if row is None else _loads(row[0], f"deployment {dep_id}")


def _loads(text: str, what: str):
    try:
        return json.loads(text)
    except ValueError:
        raise StoreDamageError(f"{what} on the backend is not JSON") from None
