"""The tree format (store/tree.py): round trips and canonical bytes (hypothesis), the fast
row check against the row-by-row one, and every malformed shape."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlctl.errors import StoreDamageError
from mlctl.store import paths, tree
from mlctl.store.hashing import hash_bytes
from mlctl.store.tree import EXEC_MODE, FILE_MODE, Entry

# names the path resolver accepts (no control characters, nothing git or mlctl owns)
segment = st.text(st.characters(blacklist_characters="/\\\0", blacklist_categories=("Cs", "Cc")), min_size=1,
                  max_size=12).filter(lambda s: paths.problem(s) is None)
rel_path = st.lists(segment, min_size=1, max_size=4).map("/".join)
digest = st.binary(max_size=8).map(hash_bytes)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(rel_path, st.tuples(digest, st.integers(0, 2**40), st.sampled_from([FILE_MODE, EXEC_MODE])),
                       max_size=20))
def test_manifest_round_trip_is_canonical(files):
    assume(not any(q.startswith(p + "/") for p in files for q in files))  # a file is no folder
    entries = [Entry(p, h, s, m) for p, (h, s, m) in files.items()]
    data = tree.encode(entries)
    assert tree.decode(data) == sorted(entries)
    assert tree.encode(list(reversed(entries))) == data  # order-independent, so hash-stable


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(rel_path, digest, st.integers(0, 2**62), st.sampled_from([FILE_MODE, EXEC_MODE])),
                max_size=12))
def test_manifest_bytes_are_what_the_json_module_writes(rows):
    """Manifest hashes must never change between versions: encode (orjson) is held to the
    bytes the standard library would write for the same document."""
    import json

    entries = [Entry(*row) for row in rows]
    doc = {"files": sorted(([e.path, e.hash, e.size, e.mode] for e in entries), key=lambda r: r[0]),
           "kind": tree.KIND, "version": tree.VERSION}
    expected = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert tree.encode(entries) == expected


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a//b", "a/./b", "a/../../b", "", "a\\b", "a/", "."])
def test_manifest_rejects_paths_that_escape(bad):
    data = tree.encode([Entry("ok", "0" * 32, 1)]).replace(b'"ok"', f'"{bad}"'.replace("\\", "\\\\").encode())
    with pytest.raises(StoreDamageError):
        tree.decode(data)


valid_row = st.tuples(rel_path, digest, st.integers(0, 2**40), st.sampled_from([FILE_MODE, EXEC_MODE])).map(list)
odd_values = [  # (column, value): each breaks a row, but for the few noted valid ones
    (0, "a//b"), (0, "/a"), (0, "a/"), (0, "."), (0, ".."), (0, "a/./b"), (0, "x/../y"), (0, "a\\b"),
    (0, "a\0b"), (0, ""), (0, 7), (0, ".hidden/ok"), (0, "a/.b"), (0, "..a/b.."),  # the last three are fine
    (0, ".git"), (0, "a/.GIT/b"), (0, "a/.git. "), (0, ".mlctl/x"), (0, "GIT~1/x"), (0, "a\nb"), (0, "a\x7fb"),
    (0, "\uff0egit/x"), (0, "a/.g\u200cit"), (0, ".gitignore"), (0, "a/.gitx"), (0, "é/ok~"),  # the last three are fine
    (1, "0" * 31), (1, "0" * 32 + "\n"), (1, "G" * 32), (1, "é" * 32), (1, "A" * 32), (1, None),
    (2, -1), (2, True), (2, 1.0), (3, 0o600), (3, 420.0), (3, None), (None, [1, 2, 3]), (None, "abcd")]


@settings(max_examples=400, deadline=None)
@given(st.lists(valid_row, min_size=1, max_size=5), st.data())
def test_fast_manifest_check_agrees_with_the_row_by_row_one(rows, data):
    """decode checks a whole manifest column by column (fast); it must accept exactly the
    rows the per-row check accepts, or a hand-made manifest could slip a path through."""
    for _ in range(data.draw(st.integers(0, 2))):
        i = data.draw(st.integers(0, len(rows) - 1))
        column, value = data.draw(st.sampled_from(odd_values))
        if column is None:
            rows[i] = list(value) if isinstance(value, list) else value  # a copy: never mutate the sample
        elif isinstance(rows[i], list) and len(rows[i]) == 4:
            rows[i][column] = value
    try:
        for row in rows:
            tree._entry(row, "x")
        per_row = True
    except StoreDamageError:
        per_row = False
    fast = tree._all_valid(rows)
    assert fast <= per_row  # the fast pass never accepts what the row check refuses
    plain = all(isinstance(r, list) and isinstance(r[0], str) and r[0].isascii() and "~" not in r[0]
                and "." not in r[0] for r in rows)
    assert fast == per_row or not plain  # and only rare names (non-ASCII, ~, dots) take the slow path


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"kind":"other","files":[]}',
                                  b'{"kind":"mlctl.manifest","version":9,"files":[]}',
                                  b'{"kind":"mlctl.manifest","version":1,"files":[["a","zz",1,420]]}',
                                  b'{"kind":"mlctl.manifest","version":1,"files":[["a","' + b"0" * 32 + b'",-1,420]]}'])
def test_manifest_rejects_malformed_documents(data):
    with pytest.raises(StoreDamageError):
        tree.decode(data)
