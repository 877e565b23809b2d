"""Videos: resolve the content hash (URL map, download or bytes) → cache → single-flight → decode into
segments → video batcher (segments are items of the same batcher) → normalized mean → cache."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from service.core.batcher import DynamicBatcher
from service.core.cache.codec import EmbeddingRecord
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import SamplingKey, video_cache_key
from service.core.media_port import ClipRequest, FetchedMediaLike, MediaPort
from service.core.metrics import CoreMetrics
from service.core.single_flight import SingleFlight
from service.core.types import (
    Deadline,
    DecodedFrames,
    SegmentEmbedding,
    VideoBytes,
    VideoEmbeddingResult,
    VideoItem,
    VideoOptions,
    VideoUrl,
)
from service.core.vectors import normalized_mean
from service.errors import DeadlineExceededError, InvalidRequestError, OverloadedError, ServiceError

_Outcome = tuple[EmbeddingRecord, bool, str]  # record, cached, content sha256
T = TypeVar("T")


class VideoPipeline:
    def __init__(
        self,
        batcher: DynamicBatcher[npt.NDArray[np.uint8]],
        media: MediaPort | None,
        cache: EmbeddingCache | None,
        flights: SingleFlight[str, _Outcome],
        metrics: CoreMetrics,
        *,
        bundle_id: str,
        model_version: str,
        num_frames: int,
        image_size: int,
        resize_mode: str,
    ) -> None:
        self._num_frames = num_frames
        self._image_size = image_size
        self._batcher = batcher
        self._media = media
        self._cache = cache
        self._flights = flights
        self._metrics = metrics
        self._bundle_id = bundle_id
        self._model_version = model_version
        self._resize_mode = resize_mode
        self._prefix = cache.key_prefix if cache else "vp"

    def _sampling(self, options: VideoOptions) -> SamplingKey:
        return SamplingKey(
            self._num_frames,
            self._image_size,
            self._resize_mode,
            options.start_s,
            options.end_s,
            options.segment_interval_s,
        )

    async def embed(self, item: VideoItem, options: VideoOptions, deadline: Deadline) -> VideoEmbeddingResult:
        sampling = self._sampling(options)
        try:
            record, cached, sha = await self._dispatch(item, sampling, deadline)
        except ServiceError as error:
            return VideoEmbeddingResult(embedding=None, error=error)
        segments = [
            SegmentEmbedding(float(span[0]), float(span[1]), vector.copy())
            for span, vector in zip(record.spans, record.vectors, strict=True)
        ]
        return VideoEmbeddingResult(
            normalized_mean(record.vectors), segments, cached=cached, content_sha256=sha
        )

    async def _dispatch(self, item: VideoItem, sampling: SamplingKey, deadline: Deadline) -> _Outcome:
        if isinstance(item, DecodedFrames):
            clips, spans = self._decoded_clips(item)
            sha = await _frames_sha256(clips)
            key = self._key(sha, sampling)
            return await self._flights.run(
                key, lambda: self._compute_frames(key, sha, clips, spans, deadline)
            )
        if isinstance(item, VideoBytes):
            sha = await asyncio.to_thread(lambda: hashlib.sha256(item.data).hexdigest())
            key = self._key(sha, sampling)
            return await self._flights.run(
                key, lambda: self._compute_bytes(key, sha, item.data, sampling, deadline)
            )
        flight = f"{self._prefix}:url:{sampling.canonical()}:{item.url}"
        return await self._flights.run(flight, lambda: self._compute_url(item, sampling, deadline))

    def _key(self, sha: str, sampling: SamplingKey) -> str:
        return video_cache_key(self._prefix, sha, self._bundle_id, self._model_version, sampling)

    def _decoded_clips(
        self, item: DecodedFrames
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
            self._batcher.engine.validate(clip)
        return clips, spans

    def _media_port(self) -> MediaPort:
        if self._media is None:
            raise InvalidRequestError("this server takes decoded frames only (no media ingestor configured)")
        return self._media

    async def _cached(self, key: str) -> EmbeddingRecord | None:
        if self._cache is None:
            return None
        return await self._cache.get_record(
            key, bundle_id=self._bundle_id, dim=self._batcher.engine.embedding_dim
        )

    async def _compute_url(self, item: VideoUrl, sampling: SamplingKey, deadline: Deadline) -> _Outcome:
        media = self._media_port()
        if self._cache is not None:
            known = await self._cache.content_hash_for_url(item.url)
            if known is not None and (hit := await self._cached(self._key(known, sampling))) is not None:
                return hit, True, known
        started = time.perf_counter()
        fetched = await _before(deadline, media.fetch_url(item.url))
        self._metrics.fetch_finished(time.perf_counter() - started, fetched.size_bytes)
        if self._cache is not None:
            await self._cache.remember_url(item.url, fetched.sha256)
        return await self._compute_media(self._key(fetched.sha256, sampling), fetched, sampling, deadline)

    async def _compute_bytes(
        self, key: str, sha: str, data: bytes, sampling: SamplingKey, deadline: Deadline
    ) -> _Outcome:
        if (hit := await self._cached(key)) is not None:
            return hit, True, sha
        fetched = await _before(deadline, self._media_port().from_bytes(data))
        return await self._compute_media(key, fetched, sampling, deadline)

    async def _compute_media(
        self, key: str, fetched: FetchedMediaLike, sampling: SamplingKey, deadline: Deadline
    ) -> _Outcome:
        media = self._media_port()
        try:
            if (hit := await self._cached(key)) is not None:
                return hit, True, fetched.sha256
            request = ClipRequest(
                sampling.num_frames,
                sampling.image_size,
                sampling.resize_mode,
                sampling.start_s,
                sampling.end_s,
                sampling.segment_interval_s,
            )
            started = time.perf_counter()
            segments = await _before(deadline, media.decode(fetched, request))
            self._metrics.decode_finished(time.perf_counter() - started)
        finally:
            await media.release(fetched)
        clips = [segment.frames for segment in segments]
        spans = [(segment.start_s, segment.end_s) for segment in segments]
        return await self._compute_frames(key, fetched.sha256, clips, spans, deadline)

    async def _compute_frames(
        self,
        key: str,
        sha: str,
        clips: Sequence[npt.NDArray[np.uint8]],
        spans: Sequence[tuple[float, float]],
        deadline: Deadline,
    ) -> _Outcome:
        if (hit := await self._cached(key)) is not None:
            return hit, True, sha
        if not clips:
            raise InvalidRequestError("the video produced no frames to embed")
        if self._batcher.free_slots() < len(clips):
            raise OverloadedError(f"video queue cannot take {len(clips)} segments now", retry_after_s=1.0)
        vectors = await asyncio.gather(*(self._batcher.submit(clip, deadline) for clip in clips))
        record = EmbeddingRecord(
            vectors=np.stack(vectors), spans=np.asarray(spans, dtype=np.float64).reshape(-1, 2)
        )
        if self._cache is not None:
            await self._cache.set_record(key, record, bundle_id=self._bundle_id)
        return record, False, sha


# Below this many bytes hashing on the event loop (~1 ms at worst) is cheaper than a thread-pool round trip.
_INLINE_HASH_BYTES = 1 << 20


async def _frames_sha256(clips: Sequence[npt.NDArray[np.uint8]]) -> str:
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


async def _before(deadline: Deadline, awaitable: Awaitable[T]) -> T:
    """Bounds fetch/decode by the request deadline so a slow origin cannot outlive its caller."""
    try:
        return await asyncio.wait_for(awaitable, max(0.0, deadline.remaining()))
    except TimeoutError:
        raise DeadlineExceededError("deadline passed while fetching or decoding the video") from None
