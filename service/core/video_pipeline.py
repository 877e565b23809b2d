"""Videos, one answer per request: resolve the content hash (URL map, download or bytes) → cache →
single-flight → decode into segments (at most the per-request cap) → video batcher → normalized mean →
cache. `segment_stream.py` is the uncapped, streamed path over the same cache records."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.core.batcher import DynamicBatcher
from service.core.cache.codec import EmbeddingRecord
from service.core.cache.keys import SamplingKey
from service.core.metrics import CoreMetrics
from service.core.request_scope import RequestScope
from service.core.single_flight import SingleFlight
from service.core.types import (
    Deadline,
    DecodedFrames,
    ImageBytes,
    ImageUrl,
    SegmentEmbedding,
    VideoBytes,
    VideoEmbeddingResult,
    VideoItem,
    VideoOptions,
)
from service.core.vectors import normalized_mean
from service.core.video_inputs import (
    STILL_SPAN,
    CacheHit,
    DecodedImage,
    ToDecode,
    VideoInputs,
    before,
    bytes_sha256,
)
from service.errors import InvalidRequestError, ServiceError
from service.tracing import span


@dataclass(frozen=True)
class VideoOutcome:
    """`record` holds the segments answered; `segments_total` those the video holds (more when capped)."""

    record: EmbeddingRecord
    cached: bool
    sha256: str
    segments_total: int


class VideoPipeline:
    def __init__(
        self,
        batcher: DynamicBatcher[npt.NDArray[np.uint8]],
        inputs: VideoInputs,
        flights: SingleFlight[str, VideoOutcome],
        metrics: CoreMetrics,
    ) -> None:
        self._batcher = batcher
        self._inputs = inputs
        self._flights = flights
        self._metrics = metrics

    async def embed(
        self, item: VideoItem, options: VideoOptions, deadline: Deadline, *, api: str
    ) -> VideoEmbeddingResult:
        """One video. An error confined to it is its result's `error`; the core-call metric counts it by
        `api` and outcome."""
        with RequestScope(self._metrics, api, "embed_video") as scope:
            try:
                outcome = await self._dispatch(item, self._inputs.sampling(options), deadline)
            except ServiceError as error:
                scope.code = error.code
                return VideoEmbeddingResult(embedding=None, error=error)
        record = outcome.record
        segments = [
            SegmentEmbedding(float(span[0]), float(span[1]), vector.copy())
            for span, vector in zip(record.spans, record.vectors, strict=True)
        ]
        return VideoEmbeddingResult(
            normalized_mean(record.vectors),
            segments,
            cached=outcome.cached,
            content_sha256=outcome.sha256,
            segments_total=outcome.segments_total,
            truncated=outcome.segments_total > len(segments),
        )

    async def _dispatch(self, item: VideoItem, sampling: SamplingKey, deadline: Deadline) -> VideoOutcome:
        if isinstance(item, DecodedFrames):
            clips, spans = decoded_clips(self._batcher, item)
            sha = await frames_sha256(clips)
            key = self._inputs.key(sha, sampling)
            return await self._flights.run(
                key, lambda: self._compute_frames(key, sha, clips, spans, deadline)
            )
        if isinstance(item, ImageUrl | ImageBytes):
            key, resolve_image = await self._inputs.image_flight(item, deadline)
            return await self._flights.run(key, lambda: self._compute(resolve_image, sampling, deadline))
        if isinstance(item, VideoBytes):
            sha = await bytes_sha256(item)
            key = self._inputs.key(sha, sampling)
            resolve = lambda: self._inputs.resolve_bytes(item, sha, key, deadline)  # noqa: E731
        else:
            key = f"{self._inputs.prefix}:url:{sampling.canonical()}:{item.url}"
            resolve = lambda: self._inputs.resolve_url(item, sampling, deadline)  # noqa: E731
        return await self._flights.run(key, lambda: self._compute(resolve, sampling, deadline))

    async def _compute(
        self,
        resolve: Callable[[], Awaitable[CacheHit | ToDecode | DecodedImage]],
        sampling: SamplingKey,
        deadline: Deadline,
    ) -> VideoOutcome:
        resolved = await resolve()
        if isinstance(resolved, CacheHit):
            return self._capped_hit(resolved)
        if isinstance(resolved, DecodedImage):
            clip = [resolved.clip]
            return await self._compute_frames(resolved.key, resolved.sha256, clip, [STILL_SPAN], deadline)
        return await self._compute_media(resolved, sampling, deadline)

    def _capped_hit(self, hit: CacheHit) -> VideoOutcome:
        """A record holds every segment (the stream may have written it): answer the first `cap`."""
        record = hit.record
        total = len(record.vectors)
        cap = self._inputs.media.segment_cap
        if total > cap:
            record = EmbeddingRecord(vectors=record.vectors[:cap], spans=record.spans[:cap])
        return VideoOutcome(record, True, hit.sha256, total)

    async def _compute_media(self, todo: ToDecode, sampling: SamplingKey, deadline: Deadline) -> VideoOutcome:
        media = self._inputs.media
        try:
            started = time.perf_counter()
            plan = await before(deadline, media.plan(todo.media, sampling, capped=True))
            segments = media.segments(todo.media, plan, deadline_s=time.monotonic() + deadline.remaining())
            with span("decode", **{"video.frames_per_segment": sampling.num_frames}) as decode_span:
                try:
                    decoded = [segment async for segment in segments]
                finally:
                    await segments.aclose()
                decode_span.set_attribute("video.segments", len(decoded))
            self._metrics.decode_finished(time.perf_counter() - started)
        finally:
            await media.release(todo.media)
        clips = [segment.frames for segment in decoded]
        spans = [(segment.start_s, segment.end_s) for segment in decoded]
        # A cut list is not the video's record: only complete lists are cached.
        complete = plan.available <= len(clips)
        outcome = await self._compute_frames(
            todo.key if complete else None, todo.sha256, clips, spans, deadline
        )
        return VideoOutcome(outcome.record, False, todo.sha256, plan.available)

    async def _compute_frames(
        self,
        key: str | None,
        sha: str,
        clips: Sequence[npt.NDArray[np.uint8]],
        spans: Sequence[tuple[float, float]],
        deadline: Deadline,
    ) -> VideoOutcome:
        if not clips:
            raise InvalidRequestError("the video produced no frames to embed")
        self._batcher.refuse_if_overloaded(len(clips))
        if len(clips) == 1:
            # The common one-clip video skips gather's task: its clip is queued before this call first yields.
            vectors = [await self._batcher.submit(clips[0], deadline)]
        else:
            vectors = list(await asyncio.gather(*(self._batcher.submit(c, deadline) for c in clips)))
        record = EmbeddingRecord(
            vectors=np.stack(vectors), spans=np.asarray(spans, dtype=np.float64).reshape(-1, 2)
        )
        if key is not None:
            await self._inputs.store(key, record)
        return VideoOutcome(record, False, sha, len(clips))


def decoded_clips(
    batcher: DynamicBatcher[npt.NDArray[np.uint8]], item: DecodedFrames
) -> tuple[list[npt.NDArray[np.uint8]], list[tuple[float, float]]]:
    frames = item.frames
    clips = [frames] if frames.ndim == 4 else list(frames) if frames.ndim == 5 else []
    if not clips:
        raise InvalidRequestError(
            f"decoded frames must be [T,S,S,3] or [N,T,S,S,3], got shape {frames.shape}"
        )
    spans = list(item.spans) if item.spans is not None else [(0.0, 0.0)] * len(clips)
    if len(spans) != len(clips):
        raise InvalidRequestError(f"{len(spans)} spans for {len(clips)} clips")
    for clip in clips:
        batcher.engine.validate(clip)
    return clips, spans


# Below this many bytes hashing on the event loop (~1 ms at worst) is cheaper than a thread-pool round trip.
_INLINE_HASH_BYTES = 1 << 20


async def frames_sha256(clips: Sequence[npt.NDArray[np.uint8]]) -> str:
    if sum(clip.nbytes for clip in clips) <= _INLINE_HASH_BYTES:
        return _hash_clips(clips)
    return await asyncio.to_thread(_hash_clips, clips)


def _hash_clips(clips: Sequence[npt.NDArray[np.uint8]]) -> str:
    digest = hashlib.sha256()
    for clip in clips:
        digest.update(str(clip.shape).encode())
        # The array's own buffer, not a tobytes() copy of it.
        digest.update(np.ascontiguousarray(clip).data)
    return digest.hexdigest()
