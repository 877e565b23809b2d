"""Streaming segments of a long video: bounded run-ahead, and every way of stopping leaves nothing behind.

"Nothing behind" means: no ffmpeg child of this process (read from /proc), the ingestor counts no live
child, no filter script in the spool directory, and the decode permit is free again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings, SamplingSpec
from tests.media.procs import bytes_written, ffmpeg_children, settle
from tests.media.videos import VideoFactory

# 2 s segments of 50 frames of 64x64: 600 KiB of rgb24 per segment, from a 21-minute 50 fps video.
LONG_SPEC = SamplingSpec(num_frames=50, image_size=64, segment_s=2.0)
SEGMENT_BYTES = 50 * 64 * 64 * 3


def _nothing_left(ing: MediaIngestor) -> bool:
    return not ffmpeg_children() and ing.live_children == 0 and not list(ing.temp_dir.glob("select-*"))


async def _permit_is_free(ing: MediaIngestor, videos: VideoFactory) -> None:
    """With one decode permit, a short clip decodes only if the stopped stream gave its permit back."""
    media = await ing.from_bytes(videos.get("h264").read_bytes())
    frames = await asyncio.wait_for(ing.decode_clip(media, SamplingSpec(num_frames=2, image_size=8)), 10)
    assert frames.shape == (2, 8, 8, 3)


@pytest.fixture()
def one_permit(settings: MediaSettings) -> MediaSettings:
    return settings.model_copy(update={"max_concurrent_decodes": 1})


async def test_decoder_waits_for_a_slow_consumer(videos: VideoFactory, one_permit: MediaSettings) -> None:
    async with MediaIngestor(one_permit) as ing:
        media = await ing.from_bytes(videos.get("long").read_bytes())
        async with contextlib.aclosing(ing.iter_segments(media, LONG_SPEC)) as segments:
            for consumed in range(1, 4):
                await anext(segments)
                await asyncio.sleep(0.5)  # a slow consumer: ffmpeg would write ~100 MB in this time
                (pid,) = ffmpeg_children()
                ahead = bytes_written(pid) - consumed * SEGMENT_BYTES
                assert ahead < 2 * SEGMENT_BYTES, f"ffmpeg ran {ahead} bytes ahead"


async def test_aclose_mid_stream_kills_and_cleans(videos: VideoFactory, one_permit: MediaSettings) -> None:
    async with MediaIngestor(one_permit) as ing:
        media = await ing.from_bytes(videos.get("long").read_bytes())
        segments = ing.iter_segments(media, LONG_SPEC)
        await anext(segments)
        assert ffmpeg_children() and ing.live_children == 1
        assert list(ing.temp_dir.glob("select-*.txt"))  # non-consecutive frames: a script file
        await segments.aclose()
        await settle(lambda: _nothing_left(ing), within_s=1.0)
        await _permit_is_free(ing, videos)


async def test_cancelling_the_consumer_task_kills_and_cleans(
    videos: VideoFactory, one_permit: MediaSettings
) -> None:
    async with MediaIngestor(one_permit) as ing:
        media = await ing.from_bytes(videos.get("long").read_bytes())
        started = asyncio.Event()

        async def consume() -> None:
            async for _ in ing.iter_segments(media, LONG_SPEC):
                started.set()
                await asyncio.sleep(0.2)

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle(lambda: _nothing_left(ing), within_s=1.0)
        await _permit_is_free(ing, videos)


async def test_ingestor_aclose_kills_running_decodes(videos: VideoFactory, settings: MediaSettings) -> None:
    # Two decodes of one ffmpeg each (a chunked decode would take the second permit for itself).
    ing = MediaIngestor(settings.model_copy(update={"chunked_decode": False}))
    media = await ing.from_bytes(videos.get("long").read_bytes())
    streams = [ing.iter_segments(media, LONG_SPEC) for _ in range(2)]
    for stream in streams:
        await anext(stream)
    assert len(ffmpeg_children()) == 2 and ing.live_children == 2
    start = time.monotonic()
    await ing.aclose()
    assert not ing.temp_dir.exists()
    await settle(lambda: not ffmpeg_children(), within_s=1.0 - (time.monotonic() - start))
    for stream in streams:
        # The killed decoder's stream ends or fails; it never hangs.
        with contextlib.suppress(StopAsyncIteration, ServiceError):
            await asyncio.wait_for(anext(stream), 5)
        await stream.aclose()
    assert ing.live_children == 0


async def test_request_deadline_stops_a_long_decode(videos: VideoFactory, settings: MediaSettings) -> None:
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(videos.get("long").read_bytes())
        deadline = time.monotonic() + 0.5
        with pytest.raises(ServiceError) as err:
            async for _ in ing.iter_segments(media, LONG_SPEC, deadline=deadline):
                await asyncio.sleep(0.05)
        assert err.value.code == "deadline_exceeded"
        assert time.monotonic() - deadline < 1.0
        await settle(lambda: _nothing_left(ing), within_s=1.0)


async def test_stream_matches_the_whole_list_api(videos: VideoFactory, settings: MediaSettings) -> None:
    spec = SamplingSpec(num_frames=3, image_size=16, segment_s=0.75)
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(videos.get("indexed").read_bytes())
        streamed = [s async for s in ing.iter_segments(media, spec)]
        listed = await ing.decode_segments(media, spec)
    assert [(s.start_s, s.end_s) for s in streamed] == [(s.start_s, s.end_s) for s in listed]
    for a, b in zip(streamed, listed, strict=True):
        assert (a.frames == b.frames).all()


async def test_cancelling_the_probe_kills_it(videos: VideoFactory, settings: MediaSettings) -> None:
    # The ffmpeg probe process: with the in-process index an MP4 never starts one.
    async with MediaIngestor(settings.model_copy(update={"in_process_index": False})) as ing:
        media = await ing.from_bytes(videos.get("long").read_bytes())  # 63 000 packets to demux
        task = asyncio.create_task(ing.open_media(media))
        await settle(lambda: bool(ffmpeg_children()), within_s=5.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle(lambda: _nothing_left(ing), within_s=1.0)
