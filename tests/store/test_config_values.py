"""The public parsers of config values (`mlctl config set KEY VALUE`), and reading the files."""

import os
import time

import pytest

from mlctl.store.config import parse_bool, parse_non_negative_float, parse_positive_float, parse_positive_int


@pytest.mark.parametrize("text, value", [("true", True), (" YES ", True), ("on", True), ("1", True),
                                         ("false", False), ("No", False), ("off", False), ("0", False)])
def test_parse_bool_reads_the_usual_spellings(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("parse, good, bad", [
    (parse_bool, None, ["maybe", "", "2"]),
    (parse_positive_int, [("1", 1), ("16", 16)], ["0", "-3", "1.5", "many"]),
    (parse_positive_float, [("0.5", 0.5), ("2", 2.0)], ["0", "-1", "nan", "soon"]),
    (parse_non_negative_float, [("0", 0.0), ("2.5", 2.5)], ["-0.1", "nan", "later"]),
])
def test_parsers_accept_their_range_and_refuse_the_rest_with_valueerror(parse, good, bad):
    for text, value in good or []:
        assert parse(text) == value
    for text in bad:
        with pytest.raises(ValueError):
            parse(text)


def test_nan_lock_timeout_is_refused_by_config_set(cli, repo):
    """nan compared false to 0 and so passed the old `value < 0` check."""
    res = cli("config", "set", "core.lock_timeout", "nan")
    assert res.exit_code == 2 and "invalid value for core.lock_timeout" in res.stderr


def _age(path, seconds: float) -> None:
    """Make ``path`` look last changed ``seconds`` ago (its mtime; ctime moves to now)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_parsed_config_file_is_reused_until_it_changes(tmp_path, monkeypatch):
    from mlctl.store import config

    path = tmp_path / "config.yaml"
    path.write_text("core:\n  jobs: 1\n")
    _age(path, 10)
    parsed = []
    real = config._parse_yaml_map
    monkeypatch.setattr(config, "_parse_yaml_map", lambda p: parsed.append(p) or real(p))
    assert config.load_yaml_map(path) == {"core": {"jobs": 1}}
    config.load_yaml_map(path)["core"]["jobs"] = 99  # a caller's change is its own copy
    assert config.load_yaml_map(path) == {"core": {"jobs": 1}} and len(parsed) == 1  # parsed once

    path.write_text("core:\n  jobs: 2\n")  # in place, same size, same inode
    _age(path, 10)
    assert config.load_yaml_map(path) == {"core": {"jobs": 2}}  # the ctime and mtime moved
    fresh = tmp_path / "new.yaml"
    fresh.write_text("core:\n  jobs: 3\n")
    os.replace(fresh, path)  # how mlctl writes: a new inode renamed into place
    assert config.load_yaml_map(path) == {"core": {"jobs": 3}}
    assert config.load_yaml_map(path) == {"core": {"jobs": 3}} and len(parsed) == 4  # changed just now: not kept
    path.unlink()
    assert config.load_yaml_map(path) == {}
