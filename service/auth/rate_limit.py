"""Per-key rate limits: requests per second per scope, and clip-seconds per second for video.

Buckets live in Redis when a URL is configured, so all replicas share one allowance per key. When Redis is
slow or down the limiter fails open to per-replica buckets (each replica enforces the limit alone) rather
than refusing or admitting everything; a circuit breaker keeps a dead Redis from costing each request a
timeout. A refusal is `rate_limited` for that key only, with the wait until its bucket refills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from service.auth.buckets import LocalBuckets, RedisBuckets
from service.auth.keys import Principal, Scope
from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.types import VideoEmbeddingResult
from service.errors import RateLimitedError

log = logging.getLogger(__name__)

_KEY_PREFIX = "vp:rl"


@dataclass(frozen=True)
class RateLimitSettings:
    # Requests per second per key and scope; a scope without an entry is not limited.
    requests_per_s: dict[Scope, float] = field(default_factory=dict)
    # Seconds of video decoded and embedded per second per key; 0: not limited.
    clip_seconds_per_s: float = 0.0
    # A bucket holds this many seconds of its rate, so short bursts pass (at least one request).
    burst_s: float = 2.0
    redis_url: str | None = None
    redis_timeout_s: float = 0.05

    @property
    def enabled(self) -> bool:
        return bool(self.requests_per_s) or self.clip_seconds_per_s > 0


class RateLimiter:
    def __init__(self, settings: RateLimitSettings) -> None:
        self._settings = settings
        self._local = LocalBuckets()
        self._redis: RedisBuckets | None = None
        self._breaker = CircuitBreaker(3, 1.0)
        if settings.enabled and settings.redis_url:
            client = aioredis.Redis.from_url(
                settings.redis_url,
                socket_timeout=settings.redis_timeout_s,
                socket_connect_timeout=settings.redis_timeout_s,
                retry_on_timeout=False,
            )
            self._redis = RedisBuckets(client)

    async def admit(self, principal: Principal, scope: Scope | None) -> None:
        """Raises `rate_limited` when the key's bucket for `scope` (or its clip-seconds debt) is empty."""
        if scope is None or not self._settings.enabled:
            return
        rate = self._settings.requests_per_s.get(scope)
        if rate:
            await self._take(f"{principal.key_id}:{scope}", rate, 1.0)
        if scope is Scope.VIDEO and self._settings.clip_seconds_per_s > 0:
            await self._take(f"{principal.key_id}:clip-s", self._settings.clip_seconds_per_s, 0.0)

    async def charge_clip_seconds(self, principal: Principal, seconds: float) -> None:
        """Debits decoded video after the fact; the next video request waits until the debt is repaid."""
        if self._settings.clip_seconds_per_s > 0 and seconds > 0:
            await self._take(
                f"{principal.key_id}:clip-s", self._settings.clip_seconds_per_s, seconds, force=True
            )

    async def charge_videos(self, principal: Principal, results: Sequence[VideoEmbeddingResult]) -> None:
        """Cache hits cost no decode, so only computed videos count against the key's clip-seconds."""
        seconds = sum(
            max(0.0, segment.end_s - segment.start_s)
            for result in results
            if result.embedding is not None and not result.cached
            for segment in result.segments
        )
        await self.charge_clip_seconds(principal, seconds)

    async def _take(self, name: str, rate: float, cost: float, *, force: bool = False) -> None:
        capacity = max(rate * self._settings.burst_s, 1.0, cost if not force else 0.0)
        wait = await self._shared_take(name, rate, capacity, cost, force)
        if wait is None:
            wait = self._local.take(name, rate, capacity, cost, force=force)
        if wait > 0:
            raise RateLimitedError(
                f"rate limit of this API key reached ({name.rsplit(':', 1)[1]}); retry after {wait:.1f} s",
                retry_after_s=wait,
            )

    async def _shared_take(
        self, name: str, rate: float, capacity: float, cost: float, force: bool
    ) -> float | None:
        if self._redis is None or not self._breaker.allow():
            return None
        try:
            wait = await asyncio.wait_for(
                self._redis.take(f"{_KEY_PREFIX}:{name}", rate, capacity, cost, force=force),
                self._settings.redis_timeout_s,
            )
        except Exception as exc:  # timeouts, connection and script errors all fall back to local buckets
            self._breaker.record_failure()
            log.warning("rate limit store unavailable (%s); using per-replica buckets", type(exc).__name__)
            return None
        self._breaker.record_success()
        return wait

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close()
