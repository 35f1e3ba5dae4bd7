"""Parsing what `mlctl serve` is asked to serve."""

from __future__ import annotations

import pytest

from mlctl.errors import UsageError
from mlctl.serving.spec import ModelRef, ServeSettings, parse_canary, parse_model_ref, token_from


def test_model_refs():
    assert parse_model_ref("churn") == ModelRef("churn", alias="latest")
    assert parse_model_ref("churn@production") == ModelRef("churn", alias="production")
    assert parse_model_ref("churn:8") == ModelRef("churn", version=8)
    assert str(parse_model_ref("churn:8")) == "churn:8" and not parse_model_ref("churn:8").follows_alias
    assert parse_model_ref("churn@staging").follows_alias
    for bad in ("", "churn:", "churn@", "churn:x", "a b", "../x", "churn:1:2"):
        with pytest.raises(UsageError):
            parse_model_ref(bad)


def test_canary_specs():
    assert parse_canary("churn:8=10") == (ModelRef("churn", version=8), 10.0)
    assert parse_canary("churn:8=2.5%") == (ModelRef("churn", version=8), 2.5)
    for bad in ("churn:8", "churn:8=0", "churn:8=101", "churn:8=ten", "=10"):
        with pytest.raises(UsageError):
            parse_canary(bad)


def test_token_flag_beats_environment(monkeypatch):
    monkeypatch.setenv("MLCTL_SERVE_TOKEN", "from-env")
    assert token_from(None) == "from-env" and token_from("flag") == "flag"
    monkeypatch.setenv("MLCTL_SERVE_TOKEN", "")
    assert token_from(None) is None
    with pytest.raises(UsageError, match="empty token"):
        ServeSettings(parse_model_ref("m"), token=" ").validate()


def test_server_files_of_dead_servers_are_cleaned(tmp_path):
    import os
    import subprocess

    from mlctl.serving.server import _remove_dead_run_dirs

    folder = tmp_path / "serve"
    proc = subprocess.Popen(["true"])
    proc.wait()
    (folder / str(proc.pid)).mkdir(parents=True)
    (folder / str(os.getpid())).mkdir()
    _remove_dead_run_dirs(folder)
    assert sorted(p.name for p in folder.iterdir()) == [str(os.getpid())]
