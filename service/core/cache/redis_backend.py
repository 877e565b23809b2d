"""Redis cache backend that fails open: every operation has a short timeout and goes through a circuit
breaker; a slow or dead Redis costs at most `timeout_s` per lookup (zero while the circuit is open),
counts a cache error and behaves like a miss, so requests still succeed."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.metrics import CoreMetrics

log = logging.getLogger(__name__)


class RedisBackend:
    name = "redis"

    def __init__(
        self, client: aioredis.Redis, *, timeout_s: float, breaker: CircuitBreaker, metrics: CoreMetrics
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._breaker = breaker
        self._metrics = metrics

    @classmethod
    def from_url(
        cls, url: str, *, timeout_s: float, breaker: CircuitBreaker, metrics: CoreMetrics
    ) -> RedisBackend:
        client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry_on_timeout=False
        )
        return cls(client, timeout_s=timeout_s, breaker=breaker, metrics=metrics)

    @property
    def breaker_state(self) -> str:
        return self._breaker.state

    async def get(self, key: str) -> bytes | None:
        if not self._breaker.allow():
            self._metrics.cache_error(self.name)
            return None
        try:
            value = await asyncio.wait_for(self._client.get(key), self._timeout_s)
        except Exception as exc:  # timeouts, connection errors, protocol errors: all fail open
            self._failed("get", exc)
            return None
        self._breaker.record_success()
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        if not self._breaker.allow():
            self._metrics.cache_error(self.name)
            return
        try:
            px = None if ttl_s is None else max(1, int(ttl_s * 1000))
            await asyncio.wait_for(self._client.set(key, value, px=px), self._timeout_s)
        except Exception as exc:
            self._failed("set", exc)
            return
        self._breaker.record_success()

    def _failed(self, operation: str, exc: Exception) -> None:
        self._breaker.record_failure()
        self._metrics.cache_error(self.name)
        log.warning("redis %s failed (%s: %s); serving without cache", operation, type(exc).__name__, exc)

    async def close(self) -> None:
        await self._client.aclose()
