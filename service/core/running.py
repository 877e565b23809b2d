"""What a started `InferenceCore` runs on: the warmed-up engines, their batchers and thread pools, and the
video, text and segment pipelines over them. Built by `assemble`, stopped by `RunningCore.close`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from service.core.batcher import DynamicBatcher
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import model_cache_version
from service.core.engine_factory import Engines
from service.core.engines import Engine, TokenRow, warmup_sizes
from service.core.media_port import MediaPort
from service.core.metrics import CoreMetrics
from service.core.segment_stream import SegmentStreamer
from service.core.settings import BatcherSettings, CoreSettings
from service.core.single_flight import SingleFlight
from service.core.text_pipeline import TextPipeline
from service.core.video_inputs import VideoInputs
from service.core.video_pipeline import VideoPipeline
from service.text.tokenizer import TextTokenizer
from videoprism_bundle.loader import Bundle

log = logging.getLogger(__name__)

_SETTLE_POLL_S = 0.01


@dataclass
class RunningCore:
    """Everything `InferenceCore.start()` builds; absent until the core is ready."""

    engines: Engines
    video_batcher: DynamicBatcher[npt.NDArray[np.uint8]]
    text_batcher: DynamicBatcher[TokenRow] | None
    executors: list[ThreadPoolExecutor]
    video: VideoPipeline
    text: TextPipeline | None
    segments: SegmentStreamer

    async def settle(self, timeout_s: float) -> bool:
        """Waits up to `timeout_s` until neither batcher holds work; True when they emptied in time.
        Polled: it runs once per drain, and an event per batcher would cost every batch a set()."""
        give_up = time.monotonic() + timeout_s
        while self.video_batcher.busy or (self.text_batcher is not None and self.text_batcher.busy):
            if time.monotonic() >= give_up:
                return False
            await asyncio.sleep(_SETTLE_POLL_S)
        return True

    async def close(self) -> None:
        """Stops the batchers (queued work fails) and lets the thread pools go."""
        await self.video_batcher.close()
        if self.text_batcher is not None:
            await self.text_batcher.close()
        for executor in self.executors:
            executor.shutdown(wait=False, cancel_futures=True)


async def assemble(
    settings: CoreSettings,
    bundle: Bundle,
    engines: Engines,
    *,
    media: MediaPort | None,
    cache: EmbeddingCache | None,
    metrics: CoreMetrics,
) -> RunningCore:
    """Warms each encoder up at the batch sizes its batcher will run, builds the pipelines, and starts
    the batchers."""
    manifest = bundle.manifest
    video_settings = _usable(settings.video_batcher, engines.video)
    executors = [ThreadPoolExecutor(video_settings.workers, thread_name_prefix="infer-video")]
    video_batcher = DynamicBatcher(engines.video, video_settings, metrics, executors[0])
    seconds = await asyncio.to_thread(
        engines.video.warmup, warmup_sizes(video_batcher.batch_sizes(manifest.video.num_frames))
    )
    log.info("video encoder warmed up at batch sizes %s in %.2fs", engines.video.warmed_batch_sizes, seconds)
    video_inputs = VideoInputs(
        media,
        cache,
        metrics,
        bundle_id=bundle.bundle_id,
        model_version=model_cache_version(manifest),
        num_frames=manifest.video.num_frames,
        image_size=manifest.video.image_size,
        resize_mode=manifest.video.resize_mode,
        embedding_dim=engines.video.embedding_dim,
    )
    video = VideoPipeline(video_batcher, video_inputs, SingleFlight(), metrics)
    segments = SegmentStreamer(video_batcher, video_inputs, segment_deadline_s=settings.default_deadline_s)
    text_batcher = text = None
    if engines.text is not None and bundle.tokenizer is not None and manifest.text is not None:
        text_settings = _usable(settings.text_batcher, engines.text)
        executors.append(ThreadPoolExecutor(text_settings.workers, thread_name_prefix="infer-text"))
        text_batcher = DynamicBatcher(engines.text, text_settings, metrics, executors[1])
        seconds = await asyncio.to_thread(engines.text.warmup, warmup_sizes(text_batcher.batch_sizes(1)))
        log.info(
            "text encoder warmed up at batch sizes %s in %.2fs", engines.text.warmed_batch_sizes, seconds
        )
        tokenizer = TextTokenizer(
            bundle.tokenizer,
            max_length=manifest.text.max_length,
            canonicalize=manifest.text.canonicalize,
            pad_id=manifest.text.pad_id,
        )
        text = TextPipeline(
            tokenizer,
            text_batcher,
            cache,
            SingleFlight(),
            bundle_id=bundle.bundle_id,
            model_version=model_cache_version(manifest),
        )
    video_batcher.start()
    if text_batcher is not None:
        text_batcher.start()
    return RunningCore(engines, video_batcher, text_batcher, executors, video, text, segments)


def _usable(settings: BatcherSettings, engine: Engine[Any]) -> BatcherSettings:
    """One worker for a backend whose `run` must not be called concurrently (TensorRT)."""
    if settings.workers == 1 or engine.backend.thread_safe:
        return settings
    log.warning(
        "%s: %s backend runs one batch at a time; using 1 worker instead of %d",
        engine.kind,
        engine.backend.runtime,
        settings.workers,
    )
    return dataclasses.replace(settings, workers=1)
