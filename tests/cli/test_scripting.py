"""The scripting contract (docs/scripting.md): exit codes, errors as one line or one JSON
object on stderr, a closed stdout, Ctrl-C, MLCTL_DEBUG."""

from __future__ import annotations

import ast
import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, one_error

import mlctl.store.status
from mlctl.errors import LockTimeoutError, StoreDamageError


def status_raises(monkeypatch, exc: BaseException) -> None:
    def gather(_repo):
        raise exc

    monkeypatch.setattr(mlctl.store.status, "gather", gather)


@pytest.mark.parametrize("code, exit_code", [
    (errno.ENOSPC, 3), (errno.EDQUOT, 3), (errno.EIO, 3), (errno.EROFS, 3),
    (errno.ENOENT, 2), (errno.EACCES, 2), (errno.EPERM, 2), (errno.EISDIR, 2),
])
def test_oserror_exit_code_follows_errno(cli, repo, monkeypatch, code, exit_code):
    status_raises(monkeypatch, OSError(code, os.strerror(code), "x"))
    one_error(cli("status"), exit_code, os.strerror(code), ": x")
    error = json.loads(cli("status", "--json").stderr)["error"]
    assert error["code"] == exit_code


@pytest.mark.parametrize("message, exit_code", [
    ("database disk image is malformed", 3),
    ("database or disk is full", 3),
    ("attempt to write a readonly database", 3),
    ("database is locked", 3),
    ("no such table: runs", 4),  # our own SQL being wrong is a bug
])
def test_sqlite_errors_are_store_trouble_or_a_bug(cli, repo, monkeypatch, message, exit_code):
    status_raises(monkeypatch, sqlite3.OperationalError(message))
    one_error(cli("status"), exit_code, message)


def test_ctrl_c_is_130_in_one_line(cli, repo, monkeypatch):
    status_raises(monkeypatch, KeyboardInterrupt())
    res = cli("status")
    assert res.exit_code == 130 and res.stderr == "mlctl: error: interrupted\n"
    assert json.loads(cli("status", "--json").stderr) == {"error": {"message": "interrupted", "hint": None,
                                                                     "code": 130}}


def test_a_bug_names_mlctl_debug_and_debug_shows_the_traceback(cli, repo, monkeypatch):
    status_raises(monkeypatch, ZeroDivisionError("division by zero"))
    res = cli("status")
    assert res.exit_code == 4 and "Traceback" not in res.stderr
    assert "hint: MLCTL_DEBUG=1 shows the traceback" in res.stderr
    assert "Traceback" in cli("status", env={"MLCTL_DEBUG": "1"}).stderr
    assert "Traceback" not in cli("status", env={"MLCTL_DEBUG": "0"}).stderr


@pytest.mark.parametrize("args", [
    ["-C", "/no/such/folder", "status", "--json"],   # fails while the root options are parsed
    ["nosuchcommand", "--json"],                      # before any command exists
    ["status", "--bogus", "--json"],                  # before the command's own options are read
    ["--json"],                                       # no command at all
])
def test_errors_before_the_command_runs_are_json_too(cli, repo, args):
    res = cli(*args)
    assert res.exit_code == 2 and res.stdout == ""
    error = json.loads(res.stderr)["error"]
    assert set(error) == {"message", "hint", "code"} and error["code"] == 2


def test_outside_a_repository_with_json(cli):
    res = cli("data", "status", "--json")
    error = json.loads(res.stderr)["error"]
    assert res.exit_code == 2 and error["hint"] == "run `mlctl init` to create one here"


@pytest.mark.parametrize("args", [["run", "list", "--json"], ["run", "list"], ["config", "list", "--all"]])
def test_a_closed_stdout_is_a_quiet_141(cli, repo, args):
    """`mlctl run list | head -1`: the reader leaves early; no traceback, no "found" exit 1."""
    for i in range(3):
        assert cli("run", "log", "-p", f"a={i}").exit_code == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "mlctl", *args], cwd=repo.root, env=_env(),
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(PROJECT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


# -- exit 3 is store damage and held locks, and nothing else ---------------------------------
def _exit_3_sites(path: Path):
    """(class name or None, line) of every `exit_code = 3 / EXIT_DAMAGE` in a class body and
    every `exit_code=3 / EXIT_DAMAGE` argument."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "exit_code" for t in stmt.targets) \
                        and _is_3(stmt.value):
                    yield node.name, stmt.lineno
        elif isinstance(node, ast.keyword) and node.arg == "exit_code" and _is_3(node.value):
            yield None, node.value.lineno


def _is_3(value: ast.expr) -> bool:
    return getattr(value, "id", None) == "EXIT_DAMAGE" or getattr(value, "value", None) == 3


def test_only_store_damage_and_held_locks_exit_3():
    """A new error class that exits 3 must be a StoreDamageError or a LockTimeoutError, so
    that a script's `3` means "the store or a lock", as docs/scripting.md says."""
    roots = {"StoreDamageError", "LockTimeoutError"}
    found = []
    for path in sorted((PROJECT / "mlctl").rglob("*.py")):
        for name, line in _exit_3_sites(path):
            if path.name != "errors.py" or name not in roots:
                found.append(f"{path.relative_to(PROJECT)}:{line} {name or 'exit_code= argument'}")
    assert found == [], "raise a StoreDamageError or LockTimeoutError (sub)class instead"
    assert StoreDamageError("x").exit_code == LockTimeoutError("x").exit_code == 3


def test_a_held_retrain_lock_is_a_lock_error():
    from mlctl.retrain.records import RetrainLocked

    assert issubclass(RetrainLocked, LockTimeoutError)


def test_a_failed_part_of_push_with_json_is_in_the_document_not_a_text_line(cli, repo):
    """`mlctl push --json` reports each part's error in its document; stderr gets no
    `mlctl: error:` text that a script parsing JSON errors would choke on."""
    (repo.root / "not-a-folder").write_text("")
    assert cli("remote", "add", "origin", repo.root / "not-a-folder", "--default").exit_code == 0
    res = cli("push", "--json")
    doc = res.json()
    assert res.exit_code == doc["exit_code"] == 2
    assert doc["parts"]["runs"]["error"]["code"] == 2 and "mlctl: error" not in res.stderr
    assert cli("push").stderr.count("mlctl: error: ") == 3  # runs, pipeline, registry
