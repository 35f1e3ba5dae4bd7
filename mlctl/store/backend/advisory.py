"""PostgreSQL advisory locks as mlctl keys them, and where the server lists the held ones.

Each user of a lock names it by a text of its own namespace (a run owner's token, "mlctl.
registry NAME", "mlctl.session-lock NAME"); the key is that text's 64-bit digest.
"""

from __future__ import annotations

import hashlib

# pg_locks' rows of granted locks on bigint keys in this database, and such a row's key as
# the signed bigint it was taken with (its high and low halves, which the shift wraps)
HELD = ("locktype = 'advisory' AND objsubid = 1 AND granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())")
KEY = "((classid::bigint << 32) | objid::bigint)"


def lock_key(text: str) -> int:
    """The advisory lock key (a signed 64-bit number) of ``text``."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)
