"""Auto decoder threads: a lone request's decode lets ffmpeg pick (the fastest single request); a decode that
starts while another request decodes or downloads gets one thread (the least CPU per clip when requests
fill the cores). An explicit setting is used as it is. (Chunked decodes, one thread per chunk, are off here:
tests/media/test_chunked_decode.py covers them.)"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from pathlib import Path

import pytest

from service.media import MediaIngestor, MediaSettings, SamplingSpec
from tests.media.origin_server import Origin
from tests.media.procs import decoder_threads, ffmpeg_children
from tests.media.videos import VideoFactory


@pytest.fixture()
def settings(settings: MediaSettings) -> MediaSettings:
    return settings.model_copy(update={"chunked_decode": False})


SPEC = SamplingSpec(num_frames=25, image_size=16, resize_mode="squash", window_end_s=40.0, segment_s=1.0)


async def _threads_of_two_decodes_at_once(settings: MediaSettings, path: Path) -> list[str]:
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(path.read_bytes())
        info = await ing.open_media(media)
        first = ing.iter_segments(media, SPEC, info)
        second = ing.iter_segments(media, SPEC, info)
        try:
            # One segment each: both decoders run, held by the pipe until the next read.
            await anext(first)
            await anext(second)
            return sorted(decoder_threads(pid) for pid in ffmpeg_children())
        finally:
            await first.aclose()
            await second.aclose()


async def test_the_second_decode_at_once_runs_one_thread(
    videos: VideoFactory, settings: MediaSettings
) -> None:
    assert settings.decoder_threads == 0 and settings.max_concurrent_decodes >= 2
    assert await _threads_of_two_decodes_at_once(settings, videos.get("long")) == ["0", "1"]


async def test_explicit_decoder_threads_are_kept(videos: VideoFactory, settings: MediaSettings) -> None:
    pinned = settings.model_copy(update={"decoder_threads": 3})
    assert await _threads_of_two_decodes_at_once(pinned, videos.get("long")) == ["3", "3"]


async def test_a_decode_that_starts_while_another_request_downloads_runs_one_thread(
    videos: VideoFactory, settings: MediaSettings
) -> None:
    async with Origin() as origin:
        loopback = settings.model_copy(
            update={
                "allow_networks": (ipaddress.ip_network("127.0.0.1/32"),),
                "allowed_ports": frozenset({80, 443, origin.port}),
            }
        )
        async with MediaIngestor(loopback) as ing:
            media = await ing.from_bytes(videos.get("long").read_bytes())
            info = await ing.open_media(media)

            async def threads_of_one_decode() -> list[str]:
                decode = ing.iter_segments(media, SPEC, info)
                try:
                    await anext(decode)
                    return [decoder_threads(pid) for pid in ffmpeg_children()]
                finally:
                    await decode.aclose()

            assert await threads_of_one_decode() == ["0"]  # alone: ffmpeg picks
            download = asyncio.create_task(ing.fetch_url(f"{origin.base}/drip"))
            try:
                while not origin.requests:  # the download is under way once the origin has the request
                    await asyncio.sleep(0.01)
                assert await threads_of_one_decode() == ["1"]
            finally:
                download.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await download
            assert await threads_of_one_decode() == ["0"]  # the download gone, alone again
