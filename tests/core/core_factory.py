"""Builds started cores for tests (real bundle, real ONNX Runtime on the CPU)."""

from __future__ import annotations

from service.core import BatcherSettings, CoreSettings, InferenceCore, RuntimeSettings
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.media_port import MediaPort
from service.core.metrics import CoreMetrics, PrometheusMetrics
from videoprism_bundle.loader import Bundle

FAST_SETTINGS = CoreSettings(
    video_batcher=BatcherSettings(max_batch_size=4, max_queue_delay_ms=2, max_queue_size=64),
    text_batcher=BatcherSettings(max_batch_size=8, max_queue_delay_ms=2, max_queue_size=2048),
    runtime=RuntimeSettings(device="cpu", intra_op_threads=1),
)


async def started_core(
    bundle: Bundle,
    *,
    cache: EmbeddingCache | None = None,
    metrics: CoreMetrics | None = None,
    media: MediaPort | None = None,
    settings: CoreSettings = FAST_SETTINGS,
    dummy: bool = False,
) -> InferenceCore:
    core = InferenceCore.create(
        settings,
        bundle,
        cache=cache,
        metrics=metrics or PrometheusMetrics(),
        media=media,
        dummy_engines=dummy,
    )
    await core.start()
    return core
