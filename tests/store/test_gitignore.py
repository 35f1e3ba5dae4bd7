"""The .gitignore entries mlctl writes beside tracked data."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from mlctl.store.gitignore import add_entries


def test_entries_added_in_any_order_leave_the_same_bytes(tmp_path):
    """Stages run with -j finish in any order; a folder dep hashes this file."""
    texts = set()
    for order in itertools.permutations(["/c.pkl", "/a.pkl", "/b.pkl"]):
        path = tmp_path / f"{len(texts)}-{'-'.join(o[1] for o in order)}.gitignore"
        for entry in order:
            add_entries(path, [entry])
        texts.add(path.read_text(encoding="utf-8"))
    assert texts == {"/a.pkl\n/b.pkl\n/c.pkl\n"}


def test_the_users_own_lines_stay_where_they_are(tmp_path):
    path = tmp_path / ".gitignore"
    path.write_text("# mine\n*.tmp\n!keep.tmp\n/z.csv", encoding="utf-8")
    assert add_entries(path, ["/b.csv", "/a.csv"]) == ["/b.csv", "/a.csv"]
    assert path.read_text(encoding="utf-8") == "# mine\n*.tmp\n!keep.tmp\n/a.csv\n/b.csv\n/z.csv\n"
    assert add_entries(path, ["/a.csv"]) == []


@given(st.lists(st.sampled_from(["/a", "/b", "/c d", "/e\\ "]), max_size=6), st.randoms())
def test_the_result_depends_on_the_set_of_entries_only(tmp_path_factory, entries, random):
    folder = tmp_path_factory.mktemp("ignores")
    shuffled = entries[:]
    random.shuffle(shuffled)
    for name, order in (("one", entries), ("two", shuffled)):
        for entry in order:
            add_entries(folder / name, [entry])
    one, two = folder / "one", folder / "two"
    assert (one.read_text() if one.exists() else "") == (two.read_text() if two.exists() else "")
