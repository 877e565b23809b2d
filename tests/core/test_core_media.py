"""The video path end to end with the real media ingestor: bytes and URLs (served by a local HTTP server)
of a real video made by ffmpeg, decoded by ffmpeg, embedded by the real ONNX session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.core import DecodedFrames, InferenceCore, PrometheusMetrics, VideoBytes, VideoOptions, VideoUrl
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.memory_backend import MemoryLruBackend
from service.core.media_adapter import MediaIngestorAdapter
from service.media import MediaIngestor, MediaSettings
from tests.core.core_factory import started_core
from videoprism_bundle.loader import Bundle


@pytest.fixture
async def core(
    tiny_bundle: Bundle, http_origin: str
) -> AsyncIterator[tuple[InferenceCore, PrometheusMetrics]]:
    port = int(http_origin.split(":")[2].split("/")[0])
    settings = MediaSettings(allow_networks=("127.0.0.1/32",), allowed_ports=frozenset({port}))  # type: ignore[arg-type]
    metrics = PrometheusMetrics()
    cache = EmbeddingCache(MemoryLruBackend(1 << 20), metrics, ttl_s=None, url_map_ttl_s=60.0)
    async with MediaIngestor(settings) as ingestor:
        core = await started_core(
            tiny_bundle, cache=cache, metrics=metrics, media=MediaIngestorAdapter(ingestor)
        )
        yield core, metrics
        await core.drain(1)


async def test_bytes_then_url_share_the_content_cache(
    core: tuple[InferenceCore, PrometheusMetrics], video_file: Path, http_origin: str
) -> None:
    engine, metrics = core
    from_bytes = await engine.embed_video(VideoBytes(video_file.read_bytes()))
    assert from_bytes.error is None and from_bytes.embedding is not None and not from_bytes.cached
    assert len(from_bytes.segments) == 1 and from_bytes.segments[0].end_s > 2.5
    from_url = await engine.embed_video(VideoUrl(http_origin))
    assert from_url.cached and from_url.content_sha256 == from_bytes.content_sha256
    fetched = metrics.registry.get_sample_value("videoprism_fetched_bytes_total")
    assert fetched == video_file.stat().st_size
    again = await engine.embed_video(VideoUrl(http_origin))  # URL map: no second download
    assert again.cached and metrics.registry.get_sample_value("videoprism_fetched_bytes_total") == fetched


async def test_segments_of_a_long_video(
    core: tuple[InferenceCore, PrometheusMetrics], video_file: Path
) -> None:
    engine, _ = core
    result = await engine.embed_video(
        VideoBytes(video_file.read_bytes()), VideoOptions(segment_interval_s=1.0)
    )
    assert result.error is None and result.embedding is not None
    assert [round(s.start_s, 3) for s in result.segments] == [0.0, 1.0, 2.0]
    frames = await engine.embed_video(
        VideoBytes(video_file.read_bytes()), VideoOptions(start_s=1.0, end_s=2.0)
    )
    assert frames.embedding is not None and not frames.cached  # another window is another key


async def test_undecodable_bytes_fail_only_that_item(
    core: tuple[InferenceCore, PrometheusMetrics], tiny_bundle: Bundle
) -> None:
    engine, _ = core
    bad = await engine.embed_video(VideoBytes(b"definitely not a video"))
    assert bad.error is not None and bad.error.code in {
        "unsupported_media",
        "decode_failed",
        "no_video_stream",
    }
    import numpy as np

    spec = tiny_bundle.manifest.video
    good = await engine.embed_video(
        DecodedFrames(np.zeros((spec.num_frames, spec.image_size, spec.image_size, 3), np.uint8))
    )
    assert good.error is None
