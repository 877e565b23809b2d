"""Overload is decided in one place, the batcher, and both doors ask that one decision through the same
chain: `Admission.check_capacity(endpoint)` → `ModelRegistry.is_overloaded(kind)` →
`InferenceCore.is_overloaded(kind)` → `DynamicBatcher.is_overloaded()`. A real core whose video engine is
held mid-batch fills its one-slot queue; every video endpoint of either door is then refused with
`overloaded` (retry after a second), text endpoints and the stream are not, and all pass again once the
queue drains."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from service.admission import Admission
from service.core import BatcherSettings, DecodedFrames, InferenceCore
from service.core.engine_factory import Engines
from service.core.metrics import NullMetrics
from service.core.model_registry import ModelRegistry
from service.errors import OverloadedError
from tests.core.core_factory import FAST_SETTINGS
from tests.core.instrumented_engines import RecordingTextEngine, RecordingVideoEngine
from videoprism_bundle.loader import Bundle

VIDEO_ENDPOINTS = (
    "/v1/embed/video",
    "/v1/embed/video/upload",
    "/videoprism.v1.EmbeddingService/EmbedVideo",
    "/videoprism.v1.EmbeddingService/UploadVideo",
)
OTHER_ENDPOINTS = (
    "/v1/embed/text",
    "/v1/embeddings",
    "/videoprism.v1.EmbeddingService/EmbedText",
    "/videoprism.v1.EmbeddingService/StreamEmbed",
    None,
)


async def test_both_doors_refuse_by_the_batchers_one_decision(tiny_bundle: Bundle, tmp_path: Path) -> None:
    video_engine = RecordingVideoEngine(tiny_bundle)
    settings = dataclasses.replace(
        FAST_SETTINGS,
        video_batcher=BatcherSettings(max_batch_size=1, max_queue_size=1, max_batches_in_flight=1),
    )
    core = InferenceCore(
        settings,
        tiny_bundle,
        media=None,
        cache=None,
        metrics=NullMetrics(),
        engines=Engines(video=video_engine, text=RecordingTextEngine(tiny_bundle)),
        environment=None,
    )
    await core.start()
    models = ModelRegistry(drain_timeout_s=1.0)
    models.put("tiny", core, tmp_path)
    admission = Admission(max_in_flight=100, is_overloaded=models.is_overloaded)
    video_engine.started.clear()  # set by the warm-up
    video_engine.gate.clear()
    try:
        running = asyncio.ensure_future(core.embed_video(DecodedFrames(video_engine.clip(1))))
        await asyncio.to_thread(video_engine.started.wait, 5)
        for endpoint in (*VIDEO_ENDPOINTS, *OTHER_ENDPOINTS):
            admission.check_capacity(endpoint)  # the engine is busy, the queue still has its slot
        queued = asyncio.ensure_future(core.embed_video(DecodedFrames(video_engine.clip(2))))
        await asyncio.sleep(0.05)
        for endpoint in VIDEO_ENDPOINTS:
            with pytest.raises(OverloadedError) as refused:
                admission.check_capacity(endpoint)
            assert refused.value.code == "overloaded" and refused.value.retry_after_s == 1.0
        for endpoint in OTHER_ENDPOINTS:
            admission.check_capacity(endpoint)
        # A request already past the door meets the same decision when it submits.
        late = await core.embed_video(DecodedFrames(video_engine.clip(3)))
        assert late.error is not None and late.error.code == "overloaded"
        video_engine.gate.set()
        assert all(r.error is None for r in await asyncio.gather(running, queued))
        for endpoint in VIDEO_ENDPOINTS:
            admission.check_capacity(endpoint)
    finally:
        video_engine.gate.set()
        assert await models.drain(1.0)
