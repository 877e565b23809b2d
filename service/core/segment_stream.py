"""Videos of any length, one segment at a time: resolve and look up the cache like the answer path, then
decode segments in order, embed each through the shared video batcher (so concurrent streams batch
together) and hand them out in order as soon as they are ready, then the whole-video embedding.

Memory and work are bounded by the consumer: at most `read_ahead` segments are decoded or embedding ahead
of it, and when it stops reading the decoder's pipe fills and ffmpeg blocks. Closing the stream (client
cancel, deadline, job cancel) cancels the producer, whose generator close kills ffmpeg at once.

Cache: the record under the per-video key holds every segment and is written only when the stream
completes; a repeated request streams it back without decoding. Per-segment keys would let a cut stream
resume from the cache, but cost one cache round trip per segment on every request (600 for a 20-minute
video); the job queue resumes from its own stored results instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.core.batcher import DynamicBatcher
from service.core.cache.codec import EmbeddingRecord
from service.core.media_port import SegmentLike
from service.core.types import (
    Deadline,
    DecodedFrames,
    ImageBytes,
    ImageUrl,
    StreamedSegment,
    StreamedVideo,
    Vector,
    VideoItem,
    VideoOptions,
    VideoStreamItem,
)
from service.core.vectors import normalized_mean
from service.core.video_inputs import STILL_SPAN, CacheHit, VideoInputs, before
from service.core.video_pipeline import decoded_clips, frames_sha256
from service.errors import DeadlineExceededError, InvalidRequestError

# Segments decoded or in the batcher ahead of the consumer: enough to fill a batch from one stream and to
# overlap decoding with inference, small enough that a stalled client holds only a few clips of memory.
_READ_AHEAD = 4
# How often a stream retries while the video batcher's queue is full (a long stream waits, never fails).
_FULL_QUEUE_RETRY_S = 0.02


@dataclass(frozen=True)
class _Clip:
    start_s: float
    end_s: float
    frames: npt.NDArray[np.uint8]


class SegmentStreamer:
    def __init__(
        self,
        batcher: DynamicBatcher[npt.NDArray[np.uint8]],
        inputs: VideoInputs,
        *,
        segment_deadline_s: float,
        read_ahead: int = _READ_AHEAD,
    ) -> None:
        self._batcher = batcher
        self._inputs = inputs
        self._segment_deadline_s = segment_deadline_s
        self._read_ahead = read_ahead

    async def stream(
        self, item: VideoItem, options: VideoOptions, deadline: Deadline | None, *, first_index: int = 0
    ) -> AsyncGenerator[VideoStreamItem, None]:
        """Segments from `first_index` on (a resumed job skips what it already has), then the video.
        The video's embedding is the mean over the segments this call produced; callers resuming
        compute their own over every segment."""
        sampling = self._inputs.sampling(options)
        if isinstance(item, DecodedFrames):
            clips, spans = decoded_clips(self._batcher, item)
            sha = await frames_sha256(clips)
            key = self._inputs.key(sha, sampling)
            if (record := await self._inputs.cached(key)) is not None:
                for out in _replay(record, sha, first_index):
                    yield out
                return
            source = _clip_source([_Clip(a, b, c) for (a, b), c in zip(spans, clips, strict=True)])
            async for out in self._embed(source, len(clips), key, sha, first_index, deadline):
                yield out
            return
        if isinstance(item, ImageUrl | ImageBytes):
            _, resolve_image = await self._inputs.image_flight(item, deadline)
            image = await resolve_image()
            if isinstance(image, CacheHit):
                for out in _replay(image.record, image.sha256, first_index):
                    yield out
                return
            still = _clip_source([_Clip(*STILL_SPAN, image.clip)])
            async for out in self._embed(still, 1, image.key, image.sha256, first_index, deadline):
                yield out
            return
        resolved = await self._inputs.resolve(item, sampling, deadline)
        if isinstance(resolved, CacheHit):
            for out in _replay(resolved.record, resolved.sha256, first_index):
                yield out
            return
        media = self._inputs.media
        try:
            plan = await before(deadline, media.plan(resolved.media, sampling, capped=False))
            at = None if deadline is None else time.monotonic() + deadline.remaining()
            segments = media.segments(resolved.media, plan, deadline_s=at)
            embedded = self._embed(
                segments, len(plan.spans), resolved.key, resolved.sha256, first_index, deadline
            )
            async with contextlib.aclosing(embedded):
                async for out in embedded:
                    yield out
        finally:
            await media.release(resolved.media)

    async def _embed(
        self,
        segments: AsyncGenerator[SegmentLike, None],
        total: int,
        key: str,
        sha: str,
        first_index: int,
        deadline: Deadline | None,
    ) -> AsyncGenerator[VideoStreamItem, None]:
        ready: asyncio.Queue[tuple[int, SegmentLike, asyncio.Task[Vector]] | BaseException | None]
        ready = asyncio.Queue(self._read_ahead)

        async def produce() -> None:
            try:
                index = 0
                async for segment in segments:
                    if index >= first_index:
                        task = asyncio.create_task(self._submit(segment.frames, deadline))
                        await ready.put((index, segment, task))
                    index += 1
                await ready.put(None)
            except Exception as exc:  # handed to the consumer, which raises it in order
                await ready.put(exc)
            finally:
                await segments.aclose()  # kills the decoder when the stream is cut short

        producer = asyncio.create_task(produce())
        vectors: list[Vector] = []
        spans: list[tuple[float, float]] = []
        try:
            while (entry := await ready.get()) is not None:
                if isinstance(entry, BaseException):
                    raise entry
                index, segment, task = entry
                vector = await task
                vectors.append(vector)
                spans.append((segment.start_s, segment.end_s))
                yield StreamedSegment(index, segment.start_s, segment.end_s, vector, False, total)
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            while not ready.empty():
                leftover = ready.get_nowait()
                if isinstance(leftover, tuple):
                    leftover[2].cancel()
        if not vectors:
            raise InvalidRequestError("the video produced no segment to embed")
        stacked = np.stack(vectors)
        if first_index == 0:
            record = EmbeddingRecord(
                vectors=stacked, spans=np.asarray(spans, dtype=np.float64).reshape(-1, 2)
            )
            await self._inputs.store(key, record)
        yield StreamedVideo(normalized_mean(stacked), total, False, sha)

    async def _submit(self, frames: npt.NDArray[np.uint8], deadline: Deadline | None) -> Vector:
        limit = deadline or Deadline.after(self._segment_deadline_s)
        while self._batcher.is_overloaded():
            if limit.expired():
                raise DeadlineExceededError("deadline passed while the video queue was full")
            await asyncio.sleep(_FULL_QUEUE_RETRY_S)
        return await self._batcher.submit(frames, limit)


def _replay(record: EmbeddingRecord, sha: str, first_index: int) -> list[VideoStreamItem]:
    total = len(record.vectors)
    out: list[VideoStreamItem] = [
        StreamedSegment(
            i, float(record.spans[i][0]), float(record.spans[i][1]), record.vectors[i], True, total
        )
        for i in range(first_index, total)
    ]
    out.append(StreamedVideo(normalized_mean(record.vectors), total, True, sha))
    return out


async def _clip_source(clips: list[_Clip]) -> AsyncGenerator[SegmentLike, None]:
    for clip in clips:
        yield clip
