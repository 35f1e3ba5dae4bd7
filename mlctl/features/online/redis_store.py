"""The Redis online store, for teams and serving at scale.

Layout under the key prefix P (``mlctl:features:`` by default):
    P<view>:<entity key>   a string: order key (40 digits, sorts like (event, created))
                           followed by the view's feature values as a JSON array
    P__state__:<view>      the view's last materialization (JSON)
A materialization is one MULTI/EXEC transaction of Lua upserts that replace a value only
with a newer one, plus the state: all of it or none of it is applied.
"""

from __future__ import annotations

import json

from mlctl.errors import MlctlError, UsageError
from mlctl.store.records import canonical

ORDER_LEN = 40
CHUNK = 1000
UPSERT_LUA = """
local n = 0
for i = 1, #KEYS do
  local new = ARGV[i]
  local old = redis.call('GET', KEYS[i])
  if (not old) or string.sub(old, 1, 40) < string.sub(new, 1, 40) then
    redis.call('SET', KEYS[i], new)
    n = n + 1
  end
end
return n
"""


class RedisStore:
    kind = "redis"

    def __init__(self, url: str, prefix: str):
        try:
            import redis
        except ImportError:
            raise UsageError("the redis online store needs the redis package",
                             hint="pip install 'mlctl[redis]'") from None
        self.url, self.prefix = url, prefix
        self._errors = redis.RedisError
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)

    def describe(self) -> str:
        return f"redis:{self.url}"

    def close(self) -> None:
        self._client.close()

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except self._errors as exc:
            raise MlctlError(f"redis online store {self.url}: {exc}",
                             hint="is redis-server running and the url in features.yaml right?") from None

    def _state_key(self, view: str) -> str:
        return f"{self.prefix}__state__:{view}"

    # -- state ----------------------------------------------------------------------------
    def states(self) -> dict:
        def scan():
            pattern = self._state_key("*")
            return {k.decode().rsplit(":", 1)[1]: json.loads(v)
                    for k in self._client.scan_iter(match=pattern, count=1000)
                    if (v := self._client.get(k)) is not None}

        return self._call(scan)

    def state(self, view: str) -> dict | None:
        raw = self._call(self._client.get, self._state_key(view))
        return json.loads(raw) if raw else None

    # -- writing --------------------------------------------------------------------------
    def write(self, view: str, rows, state: dict, reset: bool = False) -> int:
        def run():
            pipe = self._client.pipeline(transaction=True)
            if reset:
                for key in self._client.scan_iter(match=f"{self.prefix}{view}:*", count=1000):
                    pipe.delete(key)
            rows_list = list(rows)
            evals = 0
            for i in range(0, len(rows_list), CHUNK):
                part = rows_list[i:i + CHUNK]
                keys = [f"{self.prefix}{view}:{row[0]}" for row in part]
                values = [order_key(row[1], row[2]) + json.dumps(row[3:], separators=(",", ":")) for row in part]
                pipe.eval(UPSERT_LUA, len(keys), *keys, *values)
                evals += 1
            pipe.set(self._state_key(view), canonical(state))
            results = pipe.execute()
            return sum(results[len(results) - 1 - evals:-1])

        return self._call(run)

    # -- reading --------------------------------------------------------------------------
    def get(self, view: str, keys: list[str]) -> dict:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        raw = self._call(self._client.mget, [f"{self.prefix}{view}:{k}" for k in unique])
        found = {}
        for key, value in zip(unique, raw):
            if value is None:
                continue
            text = value.decode()
            order = text[:ORDER_LEN]
            found[key] = (int(order[:20]) - 2**63, int(order[20:]) - 2**63, json.loads(text[ORDER_LEN:]))
        return found

    def count(self, view: str) -> int:
        return self._call(lambda: sum(1 for _ in self._client.scan_iter(match=f"{self.prefix}{view}:*", count=1000)))


def order_key(event_ns: int, created_ns: int) -> str:
    """A fixed-width text that sorts like (event time, created time): what Redis compares."""
    return f"{event_ns + 2**63:020d}{created_ns + 2**63:020d}"
