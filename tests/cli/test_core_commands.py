"""init, config, remote, status, fsck, gc through the CLI: exit codes, stderr, --json."""

from __future__ import annotations

import json
import os

import yaml


def test_version_and_help(cli):
    res = cli("--version")
    assert res.exit_code == 0 and res.stdout.startswith("mlctl ")
    res = cli("--help")
    assert res.exit_code == 0
    for name in ("init", "status", "config", "remote", "fsck", "gc"):
        assert name in res.stdout


def test_outside_repository_is_exit_2(cli):
    for args in (["status"], ["fsck"], ["gc"], ["config", "list"], ["remote", "list"]):
        res = cli(*args)
        assert res.exit_code == 2, args
        assert res.stderr.startswith("mlctl: error: not an mlctl repository (or any parent)")
        assert "Traceback" not in res.stderr


def test_init_is_idempotent(cli, isolated_env):
    res = cli("init")
    assert res.exit_code == 0
    config = (isolated_env / ".mlctl" / "config.yaml").read_text()
    assert yaml.safe_load(config) == {"core": {"format": 1}}
    assert "/.mlctl/config.local.yaml" in (isolated_env / ".gitignore").read_text()
    before = sorted(p.as_posix() for p in (isolated_env / ".mlctl").rglob("*"))
    res = cli("init")
    assert res.exit_code == 0 and "already" in res.stderr
    assert sorted(p.as_posix() for p in (isolated_env / ".mlctl").rglob("*")) == before
    assert (isolated_env / ".mlctl" / "config.yaml").read_text() == config


def test_init_no_git_ignore(cli, isolated_env):
    assert cli("init", "--no-git-ignore").exit_code == 0
    assert not (isolated_env / ".gitignore").exists()
    assert (isolated_env / ".mlctl" / ".gitignore").read_text().startswith("/*")


def test_discovery_walks_up_and_dash_c(cli, repo):
    sub = repo.root / "a" / "b"
    sub.mkdir(parents=True)
    res = cli("-C", sub, "status", "--json")
    assert res.exit_code == 0
    assert res.json()["root"] == str(repo.root)


def test_mlctl_dir_env(cli, make_repo, tmp_path, monkeypatch):
    other = make_repo("other", use_git=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("MLCTL_DIR", str(other.dot))
    res = cli("status", "--json")
    assert res.exit_code == 0
    assert res.json()["root"] == str(elsewhere)
    monkeypatch.setenv("MLCTL_DIR", str(tmp_path / "nothing"))
    res = cli("status")
    assert res.exit_code == 2 and "MLCTL_DIR" in res.stderr


def test_config_roundtrip_and_errors(cli, repo):
    assert cli("config", "set", "core.jobs", "4").exit_code == 0
    assert cli("config", "get", "core.jobs").stdout.strip() == "4"
    assert cli("config", "get", "core.jobs", "--json").json() == {"key": "core.jobs", "value": 4}
    res = cli("config", "set", "core.jobs", "many")
    assert res.exit_code == 2 and "invalid value for core.jobs" in res.stderr
    res = cli("config", "get", "core.default_remote")
    assert res.exit_code == 2 and "not set" in res.stderr
    res = cli("config", "set", "no.such.key", "1")
    assert res.exit_code == 2 and "unknown config key" in res.stderr
    res = cli("config", "set", "core.format", "9")
    assert res.exit_code == 2 and "read-only" in res.stderr
    assert cli("config", "unset", "core.jobs").exit_code == 0
    assert cli("config", "get", "core.jobs").exit_code == 2


def test_credentials_only_in_local_config(cli, repo):
    cli("remote", "add", "origin", "s3://bucket/prefix")
    res = cli("config", "set", "remote.origin.secret_access_key", "abc")
    assert res.exit_code == 2 and "--local" in res.stderr
    assert cli("config", "set", "--local", "remote.origin.secret_access_key", "abc").exit_code == 0
    assert "abc" not in (repo.dot / "config.yaml").read_text()
    assert "abc" in (repo.dot / "config.local.yaml").read_text()
    listed = cli("config", "list", "--json").json()
    assert listed["remote.origin.secret_access_key"] == "****"


def test_remotes(cli, repo):
    assert cli("remote", "add", "origin", "s3://bucket/prefix", "--default").exit_code == 0
    assert cli("remote", "add", "backup", str(repo.root.parent / "backup")).exit_code == 0
    listed = cli("remote", "list", "--json").json()
    assert [r["name"] for r in listed] == ["backup", "origin"]
    assert [r["default"] for r in listed] == [False, True]
    res = cli("remote", "add", "origin", "s3://other")
    assert res.exit_code == 2 and "already exists" in res.stderr
    res = cli("remote", "add", "x", "ftpx://host/path")
    assert res.exit_code == 2 and "scheme" in res.stderr
    res = cli("remote", "add", "x", "s3://")
    assert res.exit_code == 2 and "bucket" in res.stderr
    res = cli("remote", "remove", "nope")
    assert res.exit_code == 2 and "unknown remote" in res.stderr
    assert cli("remote", "remove", "origin").exit_code == 0
    conf = yaml.safe_load((repo.dot / "config.yaml").read_text())
    assert "default_remote" not in conf["core"]


def test_status_json_is_strict(cli, repo):
    res = cli("status", "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["format"] == 1 and doc["remotes"] == []


def test_usage_errors_are_one_line_exit_2(cli, repo):
    for args in (["gc", "--bogus"], ["nosuchcommand"], ["gc", "--grace", "soon"], ["config", "get"]):
        res = cli(*args)
        assert res.exit_code == 2, args
        assert res.stderr.startswith("mlctl: error: "), (args, res.stderr)
        assert "Traceback" not in res.stderr


def test_newer_store_format_refused(cli, repo):
    (repo.dot / "config.yaml").write_text("core:\n  format: 99\n")
    res = cli("status")
    assert res.exit_code == 3 and "format 99" in res.stderr


def test_malformed_config_is_damage(cli, repo):
    (repo.dot / "config.yaml").write_text("core: [unclosed\n")
    res = cli("status")
    assert res.exit_code == 3 and "config.yaml" in res.stderr


def test_json_errors_are_one_json_object_on_stderr(cli, repo):
    res = cli("model", "show", "nope", "--json")
    assert res.exit_code == 2 and res.stdout == ""
    body = json.loads(res.stderr)
    assert body["error"]["code"] == 2 and "nope" in body["error"]["message"]
    assert set(body["error"]) == {"message", "hint", "code"}
    plain = cli("model", "show", "nope")
    assert plain.stderr.startswith("mlctl: error: ")


def test_json_after_double_dash_belongs_to_the_command(cli, repo):
    res = cli("run", "log", "--", "sh", "-c", "exit 3", "--json")
    assert res.exit_code == 3 and not res.stderr.lstrip().startswith("{")


def test_a_bug_is_exit_4_with_the_debug_hint(cli, repo, monkeypatch):
    import mlctl.store.status

    def broken(_repo):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(mlctl.store.status, "gather", broken)
    res = cli("status")
    assert res.exit_code == 4
    assert res.stderr.splitlines() == ["mlctl: error: internal error: ZeroDivisionError: division by zero",
                                       "hint: MLCTL_DEBUG=1 shows the traceback"]
    assert json.loads(cli("status", "--json").stderr)["error"]["code"] == 4


def test_a_full_disk_is_exit_3_a_missing_file_exit_2(cli, repo, monkeypatch):
    import errno

    import mlctl.store.status

    def fails(code):
        def gather(_repo):
            raise OSError(code, os.strerror(code), "x")
        return gather

    monkeypatch.setattr(mlctl.store.status, "gather", fails(errno.ENOSPC))
    res = cli("status")
    assert res.exit_code == 3 and res.stderr.startswith("mlctl: error: No space left on device: x")
    monkeypatch.setattr(mlctl.store.status, "gather", fails(errno.ENOENT))
    assert cli("status").exit_code == 2
