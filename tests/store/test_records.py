"""store/records.py: the canonical encoder, the record tag, and every old convention read."""

import json
import math

import pytest
from hypothesis import given, strategies as st

from mlctl.errors import EXIT_DAMAGE, StoreDamageError
from mlctl.store.records import canonical, dump_record, header, load_record, tag

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


def _old_registry_encoder(value):
    """What registry/index.py, registry events and run-cache entries were hashed with."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True).encode("utf-8")


@given(JSON_VALUES)
def test_canonical_writes_the_bytes_already_hashed(value):
    assert canonical(value) == _old_registry_encoder(value)


def test_canonical_settings():
    data = canonical({"b": [1, 2.5], "a": "é\n", "n": math.nan, "i": -math.inf})
    assert data == b'{"a":"\\u00e9\\n","b":[1,2.5],"i":-Infinity,"n":NaN}'
    assert data.decode("utf-8") == data.decode("ascii")  # ASCII: UTF-8 on every reader


def test_canonical_default_converts_what_json_cannot_hold():
    import datetime as dt

    assert canonical({"d": dt.date(2024, 1, 2)}, default=str) == b'{"d":"2024-01-02"}'
    with pytest.raises(TypeError):
        canonical({"d": dt.date(2024, 1, 2)})


def test_dump_and_load_round_trip():
    data = dump_record("mlctl.test", 2, {"z": 1, "a": [None]})
    assert data == b'{"a":[null],"kind":"mlctl.test","version":2,"z":1}'
    assert load_record(data, "mlctl.test", "object x", versions=(1, 2)) == {"kind": "mlctl.test", "version": 2,
                                                                             "z": 1, "a": [None]}


def test_a_body_may_not_carry_its_own_tag():
    with pytest.raises(ValueError, match="version"):
        tag("mlctl.test", 1, {"version": 3})


@pytest.mark.parametrize("doc,expected", [
    ({"kind": "mlctl.run", "version": 1}, ("mlctl.run", 1)),
    ({"kind": "mlctl.feature_join", "format": 1}, ("mlctl.feature_join", 1)),
    ({"kind": "mlctl.manifest"}, ("mlctl.manifest", 1)),
    ({"format": "mlctl.registry.event/1", "model": "m"}, ("mlctl.registry.event", 1)),
    ({"format_version": "mlctl.registry.version/1", "format": "pickle", "version": 7}, ("mlctl.registry.version", 1)),
    ({"schema": 1, "fingerprint": "x"}, (None, 1)),
    ({"format": 1, "entries": []}, (None, 1)),
    ({"format": "pickle", "version": 3}, (None, None)),  # an untagged registry record
    ({"next": 1, "versions": {}}, (None, None)),
])
def test_header_reads_every_convention_mlctl_wrote(doc, expected):
    assert header(doc) == expected


def test_untagged_records_read_only_when_asked():
    old = b'{"schema":1,"stage":"train"}'
    assert load_record(old, "mlctl.pipeline.runcache", "entry e", untagged=True)["stage"] == "train"
    with pytest.raises(StoreDamageError, match="entry e is not a mlctl.pipeline.runcache record"):
        load_record(old, "mlctl.pipeline.runcache", "entry e")


@pytest.mark.parametrize("data,message", [
    (b"{not json", "object 0a is not valid JSON"),
    (b"\xff\xfe", "object 0a is not valid JSON"),
    (b"[1, 2]", "object 0a is not a mlctl.test record"),
    (b'{"kind": "mlctl.other", "version": 1}', "object 0a is not a mlctl.test record (it is mlctl.other)"),
    (b'{"kind": "mlctl.test", "version": "1"}', "object 0a is a mlctl.test record of version '1'"),
    (b'{"kind": "mlctl.test", "version": true}', "object 0a is a mlctl.test record of version True"),
])
def test_damage_is_exit_3_naming_the_file(data, message):
    with pytest.raises(StoreDamageError) as caught:
        load_record(data, "mlctl.test", "object 0a")
    assert caught.value.exit_code == EXIT_DAMAGE and message in caught.value.message
    assert caught.value.hint is None


def test_a_newer_version_says_upgrade():
    with pytest.raises(StoreDamageError) as caught:
        load_record(b'{"kind": "mlctl.test", "version": 3}', "mlctl.test", "ref r", versions=(1, 2))
    assert "ref r is a mlctl.test record of version 3; this mlctl reads 1, 2" in caught.value.message
    assert caught.value.hint == "upgrade mlctl"


# -- refs: the generic JSON state every component keeps ------------------------------------
def test_refs_written_in_the_old_indented_form_read_and_update(repo):
    path = repo.refs.path("models/churn/aliases")
    path.parent.mkdir(parents=True)
    path.write_text('{\n "aliases": {\n  "production": 1\n },\n "history": []\n}\n')  # the old _dump
    assert repo.refs.read_json("models/churn/aliases") == {"aliases": {"production": 1}, "history": []}
    repo.refs.update_json("models/churn/aliases", lambda doc: {**doc, "aliases": {"production": 2}})
    assert path.read_text() == '{"aliases":{"production":2},"history":[]}\n'


def test_a_damaged_ref_under_update_is_store_damage(repo):
    path = repo.refs.path("features/materialized/v")
    path.parent.mkdir(parents=True)
    path.write_text('{"end": ')
    with pytest.raises(StoreDamageError, match="ref features/materialized/v is not valid JSON"):
        repo.refs.update_json("features/materialized/v", lambda doc: doc)
    assert path.read_text() == '{"end": '  # nothing written


def test_records_is_light_to_import():
    import subprocess
    import sys

    code = ("import sys, mlctl.store.records; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('orjson', 'pandas', 'pyarrow', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
