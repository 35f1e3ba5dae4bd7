"""The checkout journal: which workspace files a checkout is writing, so that a rerun
after a kill knows the torn ones are its own.

A fresh checkout writes small files straight to their final name (no temp, no rename:
most of its speed), so a SIGKILL can leave a file there that holds only a prefix of its
content (often 0 bytes). Such a file is neither the user's edit nor anything in the
store, and a rerun would refuse to overwrite it. So before it writes, checkout records
the workspace paths it is about to write in ``.mlctl/journal/checkout.paths``
(NUL-separated, written atomically; about 1% of a 20,000-file checkout), and removes
them from it once they have landed. A rerun
(under the same ``data`` lock, so the journal it finds belongs to a checkout that died)
may overwrite every path the journal names without asking.

The journal holds workspace-relative paths that are only compared with the paths a
checkout plans; nothing is ever opened by the name it holds.
"""

from __future__ import annotations

import contextlib
import os

from mlctl.store.atomic import atomic_write_bytes

NAME = "checkout.paths"
SEP = b"\0"  # the one byte no path can hold; a list of 20,000 paths joins in a millisecond


def _path(repo):
    return repo.dot / "journal" / NAME


def leftovers(repo) -> frozenset[str]:
    """The paths a killed (or failed) checkout was writing; empty when there was none.
    An unreadable journal counts as empty: the rerun then asks before overwriting."""
    try:
        data = _path(repo).read_bytes()
    except OSError:
        return frozenset()
    return frozenset(p.decode("utf-8", "surrogateescape") for p in data.split(SEP) if p)


def begin(repo, writing) -> None:
    """Record ``writing`` (with any earlier leftovers) before the first byte lands."""
    atomic_write_bytes(_path(repo), SEP.join(p.encode("utf-8", "surrogateescape") for p in writing))


def finish(repo, still_pending) -> None:
    """The checkout landed everything it planned: keep only leftovers it did not cover."""
    if still_pending:
        begin(repo, still_pending)
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_path(repo))
