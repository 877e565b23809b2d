"""Token buckets: one in this process, and the same arithmetic as an atomic Redis script shared by replicas.

A bucket holds up to `capacity` tokens and refills at `rate` per second. `take` admits a cost when the
tokens cover it and otherwise says how long until they will; `charge` debits a cost known only afterwards
(the clip-seconds of a decoded video) and may drive the bucket below zero, so the key waits off its debt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

# The smallest balance that admits a zero-cost check (a clip-seconds bucket is checked at cost 0 before the
# duration is known, then charged).
_EPSILON = 1e-9

# KEYS[1]: bucket; ARGV: rate, capacity, cost, force ("1": charge). Returns the wait in seconds as a string
# (Lua numbers become integers in replies). The server's clock is used, so replicas' clocks never disagree.
_TAKE_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local need = math.max(cost, 1e-9)
local wait = 0
if ARGV[4] == '1' then
  tokens = tokens - cost
elseif tokens >= need then
  tokens = tokens - cost
else
  wait = (need - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - math.min(tokens, 0)) / rate * 1000) + 1000)
return tostring(wait)
"""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class LocalBuckets:
    """Per-replica buckets, used alone without Redis and as the fallback while Redis is unreachable."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, rate: float, capacity: float, cost: float, *, force: bool = False) -> float:
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(capacity, now))
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        need = max(cost, _EPSILON)
        if force or bucket.tokens >= need:
            bucket.tokens -= cost
            return 0.0
        return (need - bucket.tokens) / rate


class RedisBuckets:
    """The same buckets in Redis, so every replica draws on one allowance per key."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._script = client.register_script(_TAKE_LUA)

    async def take(
        self, key: str, rate: float, capacity: float, cost: float, *, force: bool = False
    ) -> float:
        wait = await self._script(keys=[key], args=[rate, capacity, cost, "1" if force else "0"])
        return float(wait.decode() if isinstance(wait, bytes) else wait)

    async def close(self) -> None:
        await self._client.aclose()
