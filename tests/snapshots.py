"""Snapshots of a built test project, for fixtures whose setup costs seconds (training a
model, say): built once per worker, then copied for every later test.

A snapshot is the repository folder (git history, .mlctl/ and the work tree), copied with
its files' times, and, when the test ran on the PostgreSQL backend, a template database
made from the test's own (CREATE DATABASE ... TEMPLATE, a file copy). A restore puts a
copy of both where the test's own ``repo`` and backend were, so nothing is shared
between tests: each writes to its own folder and database.

    snapshot = Snapshot.take(repo, tmp_path_factory, request)   # after building
    snapshot.restore(repo, request, monkeypatch)                # in a later test
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.pgfixtures import _close_connections


@dataclass
class Snapshot:
    folder: Path
    database: str | None  # the template database on the session's server, or None

    @classmethod
    def take(cls, repo, tmp_path_factory, request) -> Snapshot:
        folder = tmp_path_factory.mktemp("snapshot") / "repo"
        shutil.copytree(repo.root, folder, symlinks=True)
        url = os.environ.get("MLCTL_BACKEND_URL")
        if url is None:
            return cls(folder, None)
        server = request.getfixturevalue("pg_server")
        _close_connections()  # a template must have no session open on it
        with server.admin() as conn:
            source = urlsplit(url).path.lstrip("/")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,))
            name = f"{source}_snapshot"
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return cls(folder, name)

    def restore(self, repo, request, monkeypatch) -> None:
        """Replace ``repo``'s folder (and the test's database) by a copy of the snapshot."""
        root = Path(repo.root)
        shutil.rmtree(root)
        shutil.copytree(self.folder, root, symlinks=True)
        monkeypatch.chdir(root)  # the working directory was the folder just removed
        if self.database is None:
            return
        server = request.getfixturevalue("pg_server")
        _close_connections()
        dropped = contextlib.ExitStack()  # the copy goes as every test's database does (fresh_database)
        request.addfinalizer(dropped.close)
        monkeypatch.setenv("MLCTL_BACKEND_URL", dropped.enter_context(server.fresh_database(self.database)))
