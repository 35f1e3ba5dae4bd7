"""The public parsers of config values (`mlctl config set KEY VALUE`)."""

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
