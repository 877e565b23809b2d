"""Decode a long run of frames in keyframe-aligned chunks, the next chunk in a second ffmpeg while a permit is free.

One ffmpeg with frame threads spends about 15 % more CPU per frame than one with a single thread (issue 24:
77.6 against 67.8 ms per 720p segment), and a lone long video leaves a core to those threads. Cut at keyframes,
the same frames come out of two single-thread decoders at once: each chunk after the first seeks to the
keyframe that opens it, and decoding restarts there exactly as it does in one pass (tests compare the pixels
bitwise). Frames still come out in order: the chunk ahead of the consumer fills a bounded queue that the
consumer reads once it gets there, so memory stays within two chunks' queues.

The second decoder runs only on a decode permit that is free without waiting, taken per chunk and given
back when that chunk ends, so a request that needs a permit waits for at most one chunk's decode.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from service.errors import DeadlineExceededError
from service.media.frame_stream import StreamJob, raw_frames
from service.media.models import Frames, MediaInfo
from service.media.strategy import keyframe_before


@dataclass(frozen=True)
class ChunkLimits:
    """How long video decodes are cut. Frame counts are decoded frames (the strategy module's cost unit)."""

    # Another ffmpeg start costs tens of ms (Debian's build: ~60 ms CPU, mostly dynamic linking): a chunk must
    # decode many times that. About 1 s of CPU per 720p chunk at the low end.
    min_decoded_frames: int = 500
    # A waiting request gets the helper permit back after at most one chunk (a few seconds of 720p decoding).
    max_decoded_frames: int = 3000
    # Frames held per chunk queue; two queues at most per request.
    max_buffered_bytes: int = 32 << 20

    def queue_frames(self, image_size: int) -> int:
        """How many RGB frames of `image_size` one chunk queue holds (at least one)."""
        return max(1, self.max_buffered_bytes // (image_size**2 * 3))


def _decoded(info: MediaInfo, chunk: list[int]) -> int:
    """Frames decoded for `chunk`: from the keyframe at or before its first frame to its last."""
    return chunk[-1] - keyframe_before(info, chunk[0]) + 1


def plan_chunks(
    info: MediaInfo, wanted: list[int], limits: ChunkLimits, max_frames: int, lanes: int = 2
) -> list[list[int]]:
    """`wanted` (sorted distinct frame indices) cut into chunks that start where a keyframe lies between two
    wanted frames, so no frame is decoded twice; one chunk when the decode is too short to share.

    A chunk closes once it decodes `1/lanes` of the whole (at least `min_decoded_frames`, at most
    `max_decoded_frames`) or before it would hold more than `max_frames` frames; a tail that decodes fewer
    than `min_decoded_frames / 2` joins the chunk before it.
    """
    total = _decoded(info, wanted)
    if total < 2 * limits.min_decoded_frames:
        return [wanted]
    target = min(max(limits.min_decoded_frames, -(-total // lanes)), limits.max_decoded_frames)
    # Positions that can open a chunk: a keyframe lies after the wanted frame before them.
    cuts = [i for i in range(1, len(wanted)) if keyframe_before(info, wanted[i]) > wanted[i - 1]]
    chunks: list[list[int]] = []
    start, opening = 0, keyframe_before(info, wanted[0])
    for cut, following in zip(cuts, [*cuts[1:], len(wanted)], strict=False):
        if wanted[cut - 1] - opening + 1 >= target or following - start > max_frames:
            chunks.append(wanted[start:cut])
            start, opening = cut, keyframe_before(info, wanted[cut])
    chunks.append(wanted[start:])
    if len(chunks) > 1 and _decoded(info, chunks[-1]) < limits.min_decoded_frames // 2:
        tail = chunks.pop()
        chunks[-1] = chunks[-1] + tail
    return chunks


_END = object()


async def _produce(job: StreamJob, chunk: list[int], queue: asyncio.Queue[object]) -> None:
    """Every frame of `chunk` into `queue`, then `_END`; an error goes into the queue in its place."""
    try:
        async with contextlib.aclosing(raw_frames(job, chunk)) as frames:
            async for frame in frames:
                await queue.put(frame)
    except Exception as exc:
        await queue.put(exc)
    await queue.put(_END)


class _Chunk:
    """One chunk's producer task and queue; `helper` holds a permit of its own, released when it ends."""

    def __init__(
        self, job: StreamJob, frames: list[int], queue_frames: int, helper: asyncio.Semaphore | None
    ) -> None:
        self.size = len(frames)
        self.received = 0
        self.helper = helper
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_frames)
        self.task = asyncio.create_task(_produce(job, frames, self.queue))
        if helper is not None:
            self.task.add_done_callback(lambda _: helper.release())

    async def close(self) -> None:
        """Stop the producer: its ffmpeg group is killed and reaped before this returns."""
        if self.received >= self.size:
            # Every frame is out: the producer is reaping its ffmpeg or about to queue `_END`. A cancel now
            # would leave the (shielded) reap running in the background, so let it finish instead.
            while not self.task.done():
                getter = asyncio.ensure_future(self.queue.get())
                await asyncio.wait({getter, self.task}, return_when=asyncio.FIRST_COMPLETED)
                getter.cancel()
            return
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def chunked_frames(
    job: StreamJob, chunks: list[list[int]], permits: asyncio.Semaphore, limits: ChunkLimits
) -> AsyncGenerator[Frames, None]:
    """The frames of `chunks` in order, as `raw_frames` would give them for all of them in one run.

    The caller holds one permit of `permits` for the whole run (its own lane); the chunk after the
    consumer's decodes ahead on the own lane when that lane's decoder has finished, else on a second permit
    when one is free without waiting. At most the consumer's chunk and the next are in flight. A chunk that
    ends early (a truncated file) ends the run there, as one ffmpeg would. Each decoder runs one thread.
    """
    # The caller's permit covers every chunk of the own lane: no single chunk's end gives it back.
    single_thread = job.settings.model_copy(update={"decoder_threads": 1})
    job = dataclasses.replace(job, settings=single_thread, release_permit=None)
    queue_frames = limits.queue_frames(job.spec.image_size)
    started: dict[int, _Chunk] = {}

    async def start_ahead(index: int) -> None:
        if index >= len(chunks) or index in started:
            return
        own_lane_busy = any(c.helper is None and not c.task.done() for c in started.values())
        if not own_lane_busy:
            started[index] = _Chunk(job, chunks[index], queue_frames, None)
        elif not permits.locked():
            await permits.acquire()  # free now, so this returns at once
            started[index] = _Chunk(job, chunks[index], queue_frames, permits)

    try:
        for i in range(len(chunks)):
            if i not in started:
                started[i] = _Chunk(job, chunks[i], queue_frames, None)
            current = started[i]
            while True:
                await start_ahead(i + 1)
                item = await current.queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                if job.deadline is not None and time.monotonic() > job.deadline:
                    # Queued frames need no decoder to wait for, so the deadline is checked here as well.
                    raise DeadlineExceededError("the decode ran past the request deadline")
                current.received += 1
                yield item  # type: ignore[misc]
            await current.close()
            del started[i]
            if current.received < current.size:
                return  # the file ended inside this chunk: the later ones have nothing to add
    finally:
        for chunk in started.values():
            await chunk.close()
