"""The cache against a real redis-server: hits, TTL, corrupt values, and failing open when Redis dies or
stalls (no request may fail because of the cache)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
import redis.asyncio as aioredis

from service.core import InferenceCore, PrometheusMetrics
from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.cache.codec import EmbeddingRecord
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.redis_backend import RedisBackend
from tests.core.core_factory import started_core
from tests.core.redis_server import RedisServer
from videoprism_bundle.loader import Bundle


def _cache(
    server: RedisServer, metrics: PrometheusMetrics, *, ttl_s: float | None = 60.0, reset_s: float = 0.2
) -> EmbeddingCache:
    backend = RedisBackend.from_url(
        server.url, timeout_s=0.05, breaker=CircuitBreaker(3, reset_s), metrics=metrics
    )
    return EmbeddingCache(backend, metrics, ttl_s=ttl_s, url_map_ttl_s=60.0)


@pytest.fixture
async def admin(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@contextlib.asynccontextmanager
async def _cached_core(
    tiny_bundle: Bundle, server: RedisServer, *, ttl_s: float | None = 60.0, reset_s: float = 0.2
) -> AsyncIterator[tuple[InferenceCore, PrometheusMetrics]]:
    """A started core over a Redis-backed cache, drained and closed when the test ends, passed or not."""
    metrics = PrometheusMetrics()
    cache = _cache(server, metrics, ttl_s=ttl_s, reset_s=reset_s)
    core = await started_core(tiny_bundle, cache=cache, metrics=metrics)
    try:
        yield core, metrics
    finally:
        await core.drain(1)
        await cache.close()


def _errors(metrics: PrometheusMetrics) -> float:
    return metrics.registry.get_sample_value("videoprism_cache_errors_total", {"backend": "redis"}) or 0.0


async def test_miss_then_hit_then_ttl_expiry(tiny_bundle: Bundle, redis_server: RedisServer) -> None:
    async with _cached_core(tiny_bundle, redis_server, ttl_s=0.4) as (core, metrics):
        first = (await core.embed_texts(["A dog runs!"]))[0]
        second = (await core.embed_texts(["a dog runs"]))[0]
        assert (first.cached, second.cached) == (False, True)
        assert first.embedding is not None and second.embedding is not None
        np.testing.assert_array_equal(first.embedding, second.embedding)
        await asyncio.sleep(0.6)
        assert not (await core.embed_texts(["a dog runs"]))[0].cached
        hits = metrics.registry.get_sample_value(
            "videoprism_cache_requests_total", {"backend": "redis", "result": "hit"}
        )
        assert hits == 1.0 and _errors(metrics) == 0.0


async def test_corrupt_value_is_a_miss_and_is_overwritten(
    tiny_bundle: Bundle, redis_server: RedisServer, admin: aioredis.Redis
) -> None:
    async with _cached_core(tiny_bundle, redis_server) as (core, _):
        original = (await core.embed_texts(["the cat plays"]))[0]
        (key,) = [k async for k in admin.scan_iter("vp:t:*")]
        await admin.set(key, b"VPE1 garbage that is not a record")
        again = (await core.embed_texts(["the cat plays"]))[0]
        assert not again.cached and again.embedding is not None and original.embedding is not None
        np.testing.assert_array_equal(again.embedding, original.embedding)
        stored = await admin.get(key)
        assert isinstance(stored, bytes)
        repaired = EmbeddingRecord.decode(
            stored, bundle_id=tiny_bundle.bundle_id, dim=tiny_bundle.manifest.embedding_dim
        )
        np.testing.assert_array_equal(repaired.vectors[0], original.embedding)
        assert (await core.embed_texts(["the cat plays"]))[0].cached


async def test_redis_killed_mid_run_fails_no_request_and_recovers(
    tiny_bundle: Bundle, redis_server: RedisServer
) -> None:
    async with _cached_core(tiny_bundle, redis_server, reset_s=0.2) as (core, metrics):
        results = []
        for i in range(30):
            if i == 10:
                redis_server.kill()
            results += await core.embed_texts([f"a robot looks at box {i}"])
        assert all(r.error is None and r.embedding is not None for r in results)
        assert _errors(metrics) > 0
        redis_server.start()  # same port
        await asyncio.sleep(0.3)  # past the breaker's reset window
        recovered = False
        for _ in range(20):
            (result,) = await core.embed_texts(["after the outage"])
            assert result.error is None
            if result.cached:
                recovered = True
                break
            await asyncio.sleep(0.1)
        assert recovered


async def test_blocked_redis_costs_at_most_the_timeout(
    tiny_bundle: Bundle, redis_server: RedisServer
) -> None:
    async with _cached_core(tiny_bundle, redis_server, reset_s=10.0) as (core, metrics):
        await core.embed_texts(["warm the connection pool"])
        blocker = socket.create_connection(("127.0.0.1", redis_server.port))
        try:
            blocker.sendall(b"DEBUG SLEEP 2\r\n")
            await asyncio.sleep(0.05)
            started = time.monotonic()
            results = await asyncio.gather(*(core.embed_texts([f"kid {i} jumps"]) for i in range(8)))
            elapsed = time.monotonic() - started
        finally:
            blocker.close()
        assert all(r[0].error is None and r[0].embedding is not None for r in results)
        # Each request pays at most one lookup timeout (0.05 s) and one store timeout before the breaker opens.
        assert elapsed < 0.05 * 2 + 0.5
        assert _errors(metrics) > 0
