"""Embedding cache: key derivation, a validated value format, and two backends (in-process LRU, Redis)."""

from service.core.cache.backend import CacheBackend
from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.cache.codec import EmbeddingRecord, RecordRejected
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import SamplingKey, text_cache_key, video_cache_key
from service.core.cache.memory_backend import MemoryLruBackend
from service.core.cache.redis_backend import RedisBackend

__all__ = [
    "CacheBackend",
    "CircuitBreaker",
    "EmbeddingCache",
    "EmbeddingRecord",
    "MemoryLruBackend",
    "RecordRejected",
    "RedisBackend",
    "SamplingKey",
    "text_cache_key",
    "video_cache_key",
]
