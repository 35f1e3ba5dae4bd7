"""store/schema.py: one loader and one error shape for every YAML config file."""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.errors import UsageError
from mlctl.store.schema import MISSING, Checker, key_path, load_yaml, parse_yaml

SHAPE = re.compile(r"^conf\.yaml: [^:]+: expected .+, got .+$")


class ConfError(UsageError):
    """A reader's own error class (PipelineError, PolicyError) is what the Checker raises."""


def message(fn, *args, **kwargs) -> str:
    with pytest.raises(UsageError) as caught:
        fn(*args, **kwargs)
    return caught.value.message


c = Checker("conf.yaml", ConfError, hint="see docs/conf.md")


# -- loading -----------------------------------------------------------------------------
def test_load_yaml_names_the_file_for_each_way_it_can_be_unreadable(tmp_path):
    assert message(load_yaml, tmp_path / "nope.yaml", "nope.yaml") == "nope.yaml: no such file"
    assert message(load_yaml, tmp_path, "dir.yaml") == "dir.yaml: is a folder, not a file"
    (tmp_path / "latin.yaml").write_bytes(b"a: \xff\xfe\n")
    assert message(load_yaml, tmp_path / "latin.yaml", "latin.yaml") == "latin.yaml: not UTF-8 text"
    (tmp_path / "bad.yaml").write_text("a: 1\nb: [1, 2\n")
    assert message(load_yaml, tmp_path / "bad.yaml", "bad.yaml").startswith(
        "bad.yaml: not valid YAML at line 3, column 1: ")


def test_load_yaml_raises_the_readers_error_class_with_its_hint(tmp_path):
    with pytest.raises(ConfError) as caught:
        load_yaml(tmp_path / "nope.yaml", "conf.yaml", ConfError, hint="write one")
    assert caught.value.hint == "write one" and caught.value.exit_code == 2


def test_load_yaml_is_safe():
    assert message(parse_yaml, "!!python/object/apply:os.system ['true']\n", "evil.yaml").startswith(
        "evil.yaml: not valid YAML")


# -- the error shape ---------------------------------------------------------------------
def test_key_paths():
    assert key_path("", "stages") == "stages"
    assert key_path("stages", "train") == "stages.train"
    assert key_path("gates", 0) == "gates[0]"


@pytest.mark.parametrize("check, value, text", [
    (lambda v: c.text(v, "a.b"), 3, "conf.yaml: a.b: expected a non-empty string, got 3"),
    (lambda v: c.text(v, "a.b"), None, "conf.yaml: a.b: expected a non-empty string, got nothing"),
    (lambda v: c.flag(v, "x"), "yes", "conf.yaml: x: expected true or false, got 'yes'"),
    (lambda v: c.integer(v, "n", minimum=1), 0, "conf.yaml: n: expected a whole number >= 1, got 0"),
    (lambda v: c.integer(v, "n"), True, "conf.yaml: n: expected a whole number, got True"),
    (lambda v: c.number(v, "s", 0, 1, low_open=True), 0, "conf.yaml: s: expected a number in (0, 1], got 0"),
    (lambda v: c.number(v, "s", 0), float("nan"), "conf.yaml: s: expected a number >= 0, got nan"),
    (lambda v: c.choice(v, "m", ("ks", "psi")), "kz", "conf.yaml: m: expected one of ks, psi, got 'kz'"),
    (lambda v: c.mapping(v, "t", required=True), [1], "conf.yaml: t: expected a map, got [1]"),
    (lambda v: c.list_of(v, "l", c.text, "names", non_empty=True), [],
     "conf.yaml: l: expected a non-empty list of names, got []"),
    (lambda v: c.list_of(v, "l", c.text, "names"), ["a", 2], "conf.yaml: l[1]: expected a non-empty string, got 2"),
    (lambda v: c.convert(v, "d", float, "a float", explain=False), "x", "conf.yaml: d: expected a float, got 'x'"),
])
def test_every_check_fails_in_one_shape(check, value, text):
    assert message(check, value) == text


def test_long_values_are_cut_to_one_short_line():
    text = message(c.text, ["x" * 200], "k")
    assert len(text) < 100 and text.endswith("...")


def test_unknown_keys_are_named_with_a_guess():
    with pytest.raises(ConfError) as caught:
        c.mapping({"stages": {}, "stagse": 1}, "", ("params", "stages"))
    assert caught.value.message == "conf.yaml: stagse: unknown key, expected one of params, stages"
    assert caught.value.hint.startswith("did you mean 'stages'? ")


def test_a_list_or_a_map_where_a_choice_is_due_is_refused_not_a_typeerror():
    for value in ([1], {"a": 1}):
        assert message(c.choice, value, "k", {"a": 1, "b": 2}).startswith("conf.yaml: k: expected one of a, b, got ")


def test_absent_mappings_and_lists_read_as_empty_and_scalars_as_one_item_lists():
    assert c.mapping(None, "m") == {}
    assert c.list_of(None, "l", c.text, "names") == c.list_of(MISSING, "l", c.text, "names") == []
    assert c.list_of("a", "l", c.text, "names", single=True) == ["a"]


def test_convert_keeps_the_parsers_reason():
    def parse(text):
        raise UsageError("no operator in it", hint="use >=")

    with pytest.raises(ConfError) as caught:
        c.convert("acc 0.9", "gates[0]", parse, "a gate")
    assert caught.value.message == "conf.yaml: gates[0]: expected a gate, got 'acc 0.9' (no operator in it)"
    assert caught.value.hint == "use >="


# -- any YAML value of the wrong type: the uniform error, never a traceback --------------
YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=30), st.dates(), st.datetimes())
YAML_VALUES = st.one_of(YAML_SCALARS, st.lists(YAML_SCALARS, max_size=3),
                        st.dictionaries(st.text(max_size=5), YAML_SCALARS, max_size=3))
CHECKS = {
    "text": lambda v: c.text(v, "k"),
    "flag": lambda v: c.flag(v, "k"),
    "integer": lambda v: c.integer(v, "k", minimum=1),
    "number": lambda v: c.number(v, "k", 0, 1),
    "choice": lambda v: c.choice(v, "k", ("a", "b")),
    "choice of a map's keys": lambda v: c.choice(v, "k", {"a": 1, "b": 2}),
    "mapping": lambda v: c.mapping(v, "k", required=True),
    "list": lambda v: c.list_of(v, "k", c.text, "names", non_empty=True),
    "duration-like": lambda v: c.convert(v, "k", lambda x: float(str(x)), "a number of seconds"),
}


@settings(max_examples=150, deadline=None)
@given(scalar=YAML_VALUES, check=st.sampled_from(sorted(CHECKS)))
def test_any_yaml_value_is_accepted_or_refused_in_the_one_shape(scalar, check):
    """Through a real YAML round trip, so the values are the ones a file can hold."""
    value = yaml.safe_load(yaml.safe_dump({"k": scalar}))["k"]
    try:
        CHECKS[check](value)
    except ConfError as exc:
        assert SHAPE.match(exc.message.replace("\n", " ")), exc.message
        assert exc.hint == "see docs/conf.md"
