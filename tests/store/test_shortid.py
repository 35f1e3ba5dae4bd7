"""Abbreviated ids: the shortest prefix (10 characters at least) no other known id shares."""

from __future__ import annotations

from hypothesis import given, strategies as st

from mlctl.store.shortid import short_ids


def test_ids_that_differ_early_get_ten_characters():
    assert short_ids(["01HX0000AAAAAAAAAAAAAAAAAA", "01HX9999BBBBBBBBBBBBBBBBBB"]) == {
        "01HX0000AAAAAAAAAAAAAAAAAA": "01HX0000AA", "01HX9999BBBBBBBBBBBBBBBBBB": "01HX9999BB"}


def test_same_millisecond_ids_grow_until_they_differ():
    a, b, c = "01HX00000000AB000000000000", "01HX00000000AC000000000000", "01HX00000000Z0000000000000"
    assert short_ids([a, b, c]) == {a: "01HX00000000AB", b: "01HX00000000AC", c: "01HX00000000Z"}


def test_known_ids_count_though_not_shown():
    a, hidden = "01HX00000000AB000000000000", "01HX00000000AC000000000000"
    assert short_ids([a]) == {a: "01HX000000"} and short_ids([a], known=[hidden]) == {a: "01HX00000000AB"}


@given(st.lists(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26), min_size=1, max_size=30, unique=True),
       st.integers(1, 12))
def test_each_prefix_names_one_id_and_is_shortest(ids, minimum):
    short = short_ids(ids, minimum=minimum)
    for one, prefix in short.items():
        assert one.startswith(prefix) and len(prefix) >= min(minimum, len(one))
        assert [i for i in ids if i.startswith(prefix)] == [one]
        if len(prefix) > minimum:  # one character less would be ambiguous
            assert len([i for i in ids if i.startswith(prefix[:-1])]) > 1
