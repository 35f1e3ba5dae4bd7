"""gc keeps the data of every commit git keeps; narrower scopes only when asked, with a
prompt that names what they would drop."""

from __future__ import annotations

import os
import time

import pytest

from mlctl.data import api
from tests.conftest import git
from tests.data.conftest import add_version, commit_all


def _two_versions(repo) -> tuple[str, str]:
    v1 = add_version(repo, "a.csv", "v1\n")
    commit_all(repo.root, "v1")
    v2 = add_version(repo, "a.csv", "v2\n")
    commit_all(repo.root, "v2")
    return v1, v2


def test_gc_keeps_older_commits_data_issue_17(cli, repo):
    """Issue 17 problem 1: v1 and v2 on one branch; gc --grace 0 removed v1's object."""
    v1, v2 = _two_versions(repo)
    orphan = repo.objects.put_bytes(b"nothing refers to me")
    res = cli("gc", "--grace", "0", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["removed_objects"] == [orphan] and res.json()["scope"] == "all-commits"
    assert repo.objects.exists(v1) and repo.objects.exists(v2)
    assert cli("data", "checkout", "--rev", "HEAD~1", "a.csv").exit_code == 0
    assert (repo.root / "a.csv").read_text() == "v1\n"


def test_gc_keeps_folder_versions_files_of_history(cli, repo):
    (repo.root / "d").mkdir()
    (repo.root / "d/x.txt").write_text("x1")
    (repo.root / "d/y.txt").write_text("y")
    api.add(repo, ["d"])
    commit_all(repo.root, "d1")
    (repo.root / "d/x.txt").write_text("x2")
    api.add(repo, ["d"])
    commit_all(repo.root, "d2")
    assert cli("gc", "--grace", "0").exit_code == 0
    assert cli("data", "checkout", "--force", "--rev", "HEAD~1", "d").exit_code == 0
    assert (repo.root / "d/x.txt").read_text() == "x1"


def test_workspace_only_without_a_tty_or_yes_is_exit_2_and_removes_nothing(cli, repo):
    v1, _ = _two_versions(repo)
    res = cli("gc", "--grace", "0", "--workspace-only")
    assert res.exit_code == 2
    assert "1 objects" in res.stderr and "a.csv@" in res.stderr and "--yes" in res.stderr
    assert repo.objects.exists(v1)


def test_workspace_only_dry_run_names_what_it_would_drop(cli, repo):
    v1, v2 = _two_versions(repo)
    first = git(repo.root, "rev-parse", "HEAD~1").strip()
    res = cli("gc", "--grace", "0", "--workspace-only", "--dry-run", "--json")
    doc = res.json()
    assert res.exit_code == 0 and doc["scope"] == "workspace-only"
    assert doc["removed_objects"] == [v1]
    assert doc["beyond_default"] == {"objects": 1, "bytes": 3, "lost_versions": [f"a.csv@{first[:10]}"]}
    assert repo.objects.exists(v1)


def test_workspace_only_with_yes_removes_history_data(cli, repo):
    v1, v2 = _two_versions(repo)
    res = cli("gc", "--grace", "0", "--workspace-only", "--yes", "--json")
    assert res.exit_code == 0 and res.json()["removed_objects"] == [v1]
    assert not repo.objects.exists(v1) and repo.objects.exists(v2)


def test_a_declined_prompt_removes_nothing(repo, monkeypatch):
    from mlctl.store.gc import gc
    from mlctl.store.gcscope import Scope

    v1, _ = _two_versions(repo)
    asked = []
    result = gc(repo, grace=0, scope=Scope(workspace_only=True), confirm=lambda r: asked.append(r) or False)
    assert result.declined and result.removed == [] and repo.objects.exists(v1)
    assert asked[0].beyond_default.objects == 1


def test_keep_rev_keeps_that_history_only(cli, repo):
    base = add_version(repo, "a.csv", "base\n")
    commit_all(repo.root, "base")
    git(repo.root, "checkout", "-q", "-b", "side")
    side = add_version(repo, "a.csv", "side\n")
    commit_all(repo.root, "side")
    git(repo.root, "checkout", "-q", "main")
    api.checkout(repo, ["a.csv"], force=True)
    main2 = add_version(repo, "a.csv", "main2\n")
    commit_all(repo.root, "main2")
    res = cli("gc", "--grace", "0", "--keep-rev", "main", "--yes", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["removed_objects"] == [side]
    assert repo.objects.exists(base) and repo.objects.exists(main2)


def test_keep_rev_unknown_revision_is_exit_2(cli, repo):
    _two_versions(repo)
    res = cli("gc", "--keep-rev", "nope", "--yes")
    assert res.exit_code == 2 and "unknown git revision: nope" in res.stderr


def test_only_pushed_drops_history_only_where_the_remote_holds_it(cli, repo, tmp_path):
    v1, v2 = _two_versions(repo)
    assert cli("remote", "add", "origin", tmp_path / "remote", "--default").exit_code == 0
    res = cli("gc", "--grace", "0", "--only-pushed", "origin", "--yes", "--json")
    assert res.json()["removed"] == 0  # nothing pushed yet: every version stays
    assert cli("data", "push", "--rev", "HEAD~1").exit_code == 0
    res = cli("gc", "--grace", "0", "--only-pushed", "origin", "--yes", "--json")
    assert res.json()["removed_objects"] == [v1] and repo.objects.exists(v2)
    assert cli("data", "pull", "--rev", "HEAD~1", "a.csv").exit_code == 0
    assert repo.objects.exists(v1)


def test_malformed_history_pointer_is_named_not_fatal(cli, repo):
    v1, _ = _two_versions(repo)
    (repo.root / "bad.csv.mlctl").write_text("path: [\n")
    commit_all(repo.root, "bad")
    os.unlink(repo.root / "bad.csv.mlctl")
    commit_all(repo.root, "rm bad")
    res = cli("gc", "--grace", "0")
    assert res.exit_code == 0
    assert "malformed pointer in git history, skipped: bad.csv.mlctl" in res.stderr
    assert repo.objects.exists(v1)


def test_gc_waits_for_the_lock_up_to_mlctl_lock_timeout(repo, monkeypatch, mlctl_proc):
    """Issue 18 item 12: gc used timeout 0 whatever MLCTL_LOCK_TIMEOUT said."""
    import threading

    lock = repo.lock("gc", timeout=0)
    lock.acquire()
    threading.Timer(1.0, lock.release).start()
    started = time.monotonic()
    res = mlctl_proc("gc", cwd=repo.root, env={"MLCTL_LOCK_TIMEOUT": "20"})
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - started >= 0.9
    lock.acquire()
    res = mlctl_proc("gc", cwd=repo.root, env={"MLCTL_LOCK_TIMEOUT": "0.2"})
    lock.release()
    assert res.returncode == 3 and "gc is locked by another process" in res.stderr


@pytest.mark.parametrize("args", [["--workspace-only", "--keep-rev", "HEAD"], ["origin"], ["--only-pushed", "nope"],
                                  ["--remote", "--workspace-only"]])
def test_contradictory_flags_are_exit_2(cli, repo, args):
    assert cli("gc", *args).exit_code == 2


def _run_on_a_tty(repo, args: list[str], answer: bytes) -> tuple[int, str]:
    """mlctl in a real pseudo-terminal, answering its question with ``answer``."""
    import pty
    import subprocess
    import sys

    from tests.conftest import PROJECT

    main, child = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", *args], cwd=repo.root, env=env,
                            stdin=child, stdout=child, stderr=child)
    os.close(child)
    seen = b""
    while b"Remove them?" not in seen:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.write(main, answer)
    try:
        while chunk := os.read(main, 4096):
            seen += chunk
    except OSError:
        pass
    os.close(main)
    return proc.wait(30), seen.decode(errors="replace")


@pytest.mark.parametrize("answer, code", [(b"n\n", 1), (b"y\n", 0)])
def test_on_a_terminal_a_narrower_scope_asks_first(repo, answer, code):
    v1, v2 = _two_versions(repo)
    status, output = _run_on_a_tty(repo, ["gc", "--grace", "0", "--workspace-only"], answer)
    assert "a.csv@" in output and "Remove them?" in output
    assert status == code
    assert repo.objects.exists(v1) == (answer == b"n\n") and repo.objects.exists(v2)


def test_gc_waits_for_a_running_dataadd_version(repo, mlctl_proc):
    """gc holds the data lock: an add that finds an old unreferenced object already stored
    (and so skips writing it) cannot have it deleted under it."""
    with repo.lock("data", timeout=0):
        res = mlctl_proc("gc", "--grace", "0", cwd=repo.root, env={"MLCTL_LOCK_TIMEOUT": "0.2"})
    assert res.returncode == 3 and "data is locked by another process" in res.stderr


def test_an_old_object_stored_again_counts_as_new_for_the_grace_period(cli, repo):
    digest = repo.objects.put_bytes(b"stored long ago, unreferenced")
    past = time.time() - 3 * 86400
    os.utime(repo.objects.path(digest), (past, past))
    assert repo.objects.put_bytes(b"stored long ago, unreferenced") == digest  # a writer reuses it
    res = cli("gc", "--grace", "1h", "--json")
    assert res.json()["removed"] == 0 and res.json()["kept_recent"] == 1
    assert repo.objects.exists(digest)
