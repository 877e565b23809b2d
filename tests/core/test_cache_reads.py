"""One cache read per tier per request, on a miss and on a hit, for each cache backend: the real in-memory
LRU and a real redis-server, each behind a thin wrapper that records the keys read. The tiers are the URL
map (`vp:u:`, URL → content hash) and the embedding records (`vp:v:` videos, `vp:t:` texts); a request
reads each tier it needs exactly once and never reads a key twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.core import InferenceCore, PrometheusMetrics, VideoBytes, VideoOptions, VideoUrl
from service.core.cache.backend import CacheBackend
from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.memory_backend import MemoryLruBackend
from service.core.cache.redis_backend import RedisBackend
from service.core.media_adapter import MediaIngestorAdapter
from service.media import MediaIngestor, MediaSettings
from tests.core.core_factory import started_core
from tests.core.redis_server import RedisServer
from videoprism_bundle.loader import Bundle


class CountingBackend:
    """The real backend, with every key `get` was asked for recorded in order."""

    def __init__(self, inner: CacheBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.reads: list[str] = []

    async def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        await self.inner.set(key, value, ttl_s)

    async def close(self) -> None:
        await self.inner.close()

    def tiers_read(self) -> list[str]:
        """The tier of each read since the last call ("u", "v" or "t"), in order; no key may repeat."""
        reads, self.reads = self.reads, []
        assert len(set(reads)) == len(reads), f"a key was read twice: {reads}"
        return [key.split(":")[1] for key in reads]


@pytest.fixture(params=["memory", "redis"])
async def counted(
    request: pytest.FixtureRequest, tiny_bundle: Bundle, http_origin: str, tmp_path: Path
) -> AsyncIterator[tuple[InferenceCore, CountingBackend]]:
    metrics = PrometheusMetrics()
    inner: CacheBackend
    server: RedisServer | None = None
    if request.param == "redis":
        server = RedisServer(tmp_path)
        server.start()
        inner = RedisBackend.from_url(
            server.url, timeout_s=1.0, breaker=CircuitBreaker(3, 1.0), metrics=metrics
        )
    else:
        inner = MemoryLruBackend(1 << 24)
    backend = CountingBackend(inner)
    cache = EmbeddingCache(backend, metrics, ttl_s=None, url_map_ttl_s=60.0)
    port = int(http_origin.split(":")[2].split("/")[0])
    settings = MediaSettings(allow_networks=("127.0.0.1/32",), allowed_ports=frozenset({port}))  # type: ignore[arg-type]
    try:
        async with MediaIngestor(settings) as ingestor:
            core = await started_core(
                tiny_bundle, cache=cache, metrics=metrics, media=MediaIngestorAdapter(ingestor)
            )
            yield core, backend
            await core.drain(1)
        assert metrics.registry.get_sample_value(
            "videoprism_cache_errors_total", {"backend": backend.name}
        ) in (
            None,
            0.0,
        ), "a cache error would turn reads into misses and hide a second read"
    finally:
        await cache.close()
        if server is not None:
            server.kill()


async def test_video_bytes_read_the_record_once_on_a_miss_and_on_a_hit(
    counted: tuple[InferenceCore, CountingBackend], video_file: Path
) -> None:
    core, backend = counted
    data = video_file.read_bytes()
    miss = await core.embed_video(VideoBytes(data))
    assert miss.error is None and not miss.cached
    assert backend.tiers_read() == ["v"]
    hit = await core.embed_video(VideoBytes(data))
    assert hit.error is None and hit.cached
    assert backend.tiers_read() == ["v"]


async def test_video_url_reads_the_url_map_and_the_record_once_each(
    counted: tuple[InferenceCore, CountingBackend], http_origin: str
) -> None:
    core, backend = counted
    miss = await core.embed_video(VideoUrl(http_origin))
    assert miss.error is None and not miss.cached
    assert backend.tiers_read() == ["u", "v"]
    hit = await core.embed_video(VideoUrl(http_origin))
    assert hit.error is None and hit.cached
    assert backend.tiers_read() == ["u", "v"]


async def test_mapped_url_with_a_new_clip_window_reads_each_tier_once(
    counted: tuple[InferenceCore, CountingBackend], http_origin: str
) -> None:
    # The URL map knows the content, the record for this window does not exist yet: after the download
    # (same content) the record must not be looked up again.
    core, backend = counted
    await core.embed_video(VideoUrl(http_origin))
    backend.tiers_read()
    window = await core.embed_video(VideoUrl(http_origin), VideoOptions(start_s=1.0, end_s=2.0))
    assert window.error is None and not window.cached
    assert backend.tiers_read() == ["u", "v"]


async def test_texts_read_the_record_once_on_a_miss_and_on_a_hit(
    counted: tuple[InferenceCore, CountingBackend],
) -> None:
    core, backend = counted
    (miss,) = await core.embed_texts(["a dog runs on the beach"])
    assert miss.error is None and not miss.cached
    assert backend.tiers_read() == ["t"]
    (hit,) = await core.embed_texts(["a dog runs on the beach"])
    assert hit.error is None and hit.cached
    assert backend.tiers_read() == ["t"]
