"""Builds the configured cache (or none) from typed settings."""

from __future__ import annotations

from service.core.cache.backend import CacheBackend
from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.memory_backend import MemoryLruBackend
from service.core.cache.redis_backend import RedisBackend
from service.core.metrics import CoreMetrics
from service.core.settings import CacheSettings


def build_cache(settings: CacheSettings, metrics: CoreMetrics) -> EmbeddingCache | None:
    backend: CacheBackend
    if settings.backend == "none":
        return None
    if settings.backend == "memory":
        backend = MemoryLruBackend(settings.memory_max_bytes)
    else:
        breaker = CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_reset_after_s)
        backend = RedisBackend.from_url(
            settings.redis_url, timeout_s=settings.redis_timeout_s, breaker=breaker, metrics=metrics
        )
    return EmbeddingCache(
        backend,
        metrics,
        ttl_s=settings.ttl_s,
        url_map_ttl_s=settings.url_map_ttl_s,
        key_prefix=settings.key_prefix,
    )
