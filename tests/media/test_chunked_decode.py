"""Long decodes cut at keyframes over two ffmpeg processes: where the cuts fall, the same pixels as one ffmpeg,
and nothing left behind when the consumer stops early."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import AsyncGenerator
from pathlib import Path

import numpy as np
import pytest

from service.media import MediaIngestor, MediaSettings, SamplingSpec
from service.media import chunked_frames as chunked_module
from service.media.chunked_frames import ChunkLimits, plan_chunks
from service.media.frame_stream import StreamJob
from service.media.models import Frames, MediaInfo
from tests.media.mp4_layouts import CLIP, X264, LayoutFactory
from tests.media.procs import decoder_threads, ffmpeg_children
from tests.media.videos import ffmpeg

SMALL = ChunkLimits(min_decoded_frames=10, max_decoded_frames=30, max_buffered_bytes=1 << 20)
SEGMENTS = SamplingSpec(num_frames=4, image_size=32, segment_s=0.5, max_segments=1000)
# (layout, probed from the in-process index): keyframes every 25 frames with and without B-frames, the same probed
# by ffmpeg, open-GOP I-frames, MPEG-4 Part 2 GOPs of 12, an edit list starting mid-GOP; one keyframe only (a
# single chunk) in the variable-frame-rate and HEVC files.
LAYOUTS = [("x264_bframes", True), ("x264_bframes", False), ("x264_no_bframes", True), ("x264_open_gop", True),
           ("mpeg4_bframes", True), ("cut_mid_gop", True), ("vfr_no_bframes", True), ("hevc", True)]  # fmt: skip
ONE_KEYFRAME = {"vfr_no_bframes", "hevc"}


def info_with(keyframes: list[int], frames: int) -> MediaInfo:
    return MediaInfo("h264", 64, 64, (1, 25), tuple(range(frames)), tuple(keyframes), frames)


def test_no_cut_when_the_decode_is_too_short_to_share() -> None:
    info = info_with(list(range(0, 1000, 100)), 1000)
    assert plan_chunks(info, list(range(0, 900, 10)), ChunkLimits(min_decoded_frames=500), 1000) == [
        list(range(0, 900, 10))
    ]


def test_cuts_fall_on_keyframes_between_wanted_frames_and_split_the_decode_evenly() -> None:
    info = info_with(list(range(0, 3000, 250)), 3000)
    wanted = list(range(5, 3000, 50))
    chunks = plan_chunks(info, wanted, ChunkLimits(min_decoded_frames=500, max_decoded_frames=3000), 10_000)
    assert [f for c in chunks for f in c] == wanted
    assert len(chunks) == 2
    for before, chunk in itertools.pairwise(chunks):
        keyframe = max(k for k in info.keyframes if k <= chunk[0])
        assert before[-1] < keyframe <= chunk[0]  # the next chunk decodes nothing the previous one did


def test_chunks_stay_within_the_decode_and_buffer_caps() -> None:
    info = info_with(list(range(0, 20_000, 100)), 20_000)
    wanted = list(range(0, 20_000, 4))
    limits = ChunkLimits(min_decoded_frames=200, max_decoded_frames=1000)
    chunks = plan_chunks(info, wanted, limits, max_frames=150)
    assert [f for c in chunks for f in c] == wanted
    assert all(len(c) <= 150 for c in chunks)
    assert all(c[-1] - c[0] < 1000 for c in chunks)


def test_a_short_tail_joins_the_chunk_before_it() -> None:
    info = info_with([*range(0, 1200, 100), 1180], 1200)
    limits = ChunkLimits(min_decoded_frames=400, max_decoded_frames=400)
    chunks = plan_chunks(info, list(range(0, 1200, 10)), limits, 10_000)
    # Cuts after 500 decoded frames each; the last 191 frames (< 400 / 2) go with the chunk before them.
    assert [(c[0], c[-1]) for c in chunks] == [(0, 490), (500, 1190)]


@pytest.fixture()
def count_decoders(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The frame lists of every ffmpeg run started by the chunked decoder."""
    runs: list[list[int]] = []
    real = chunked_module.raw_frames

    def counting(job: StreamJob, wanted: list[int]) -> AsyncGenerator[Frames, None]:
        runs.append(wanted)
        return real(job, wanted)

    monkeypatch.setattr(chunked_module, "raw_frames", counting)
    return runs


async def segments_of(path: Path, settings: MediaSettings, chunks: ChunkLimits) -> list[Frames]:
    async with MediaIngestor(settings, chunks=chunks) as ing:
        media = await ing.from_bytes(path.read_bytes())
        return [s.frames async for s in ing.iter_segments(media, SEGMENTS)]


@pytest.mark.parametrize(("name", "index"), LAYOUTS)
async def test_chunked_pixels_equal_one_ffmpeg(
    layouts: LayoutFactory, settings: MediaSettings, count_decoders: list[list[int]], name: str, index: bool
) -> None:
    path = layouts.get(name)
    settings = settings.model_copy(update={"in_process_index": index})
    one = await segments_of(path, settings.model_copy(update={"chunked_decode": False}), SMALL)
    assert count_decoders == []
    chunked = await segments_of(path, settings, SMALL)
    assert len(chunked) == len(one) >= 4
    for a, b in zip(chunked, one, strict=True):
        np.testing.assert_array_equal(a, b)
    if name in ONE_KEYFRAME:
        assert count_decoders == []  # nowhere to cut
    else:
        assert len(count_decoders) >= 2


async def test_a_truncated_file_gives_what_one_ffmpeg_gives(
    settings: MediaSettings, count_decoders: list[list[int]], tmp_path: Path
) -> None:
    whole = tmp_path / "whole.mp4"  # moov first, so the cut file still opens
    ffmpeg(*CLIP, *X264, "-g", "25", "-movflags", "+faststart", str(whole))
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    limits = dataclasses.replace(SMALL, max_decoded_frames=20)
    one = await segments_of(cut, settings.model_copy(update={"chunked_decode": False}), limits)
    chunked = await segments_of(cut, settings, limits)
    assert len(count_decoders) >= 2
    assert len(chunked) == len(one)
    for a, b in zip(chunked, one, strict=True):
        np.testing.assert_array_equal(a, b)


async def test_a_chunk_that_ends_early_ends_the_run(
    layouts: LayoutFactory, settings: MediaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Injected fault: the first decoder stops after 3 frames, as ffmpeg does on data it cannot decode. The later
    # chunks' frames must not slide into the places of the missing ones: the run ends and the rest is padding.
    real = chunked_module.raw_frames
    calls: list[int] = []

    async def first_stops_early(job: StreamJob, wanted: list[int]) -> AsyncGenerator[Frames, None]:
        first = not calls
        calls.append(len(wanted))
        async with contextlib.aclosing(real(job, wanted)) as frames:
            async for n, frame in aiter_enumerate(frames):
                if first and n == 3:
                    return
                yield frame  # type: ignore[misc]

    monkeypatch.setattr(chunked_module, "raw_frames", first_stops_early)
    segments = await segments_of(layouts.get("x264_bframes"), settings, SMALL)
    assert len(calls) >= 2
    one = await segments_of(
        layouts.get("x264_bframes"), settings.model_copy(update={"chunked_decode": False}), SMALL
    )
    assert len(segments) == len(one)
    np.testing.assert_array_equal(segments[0][:3], one[0][:3])
    for segment in segments[1:]:
        assert (segment == one[0][2]).all()  # the last decoded frame repeats


async def test_one_permit_means_one_ffmpeg(
    layouts: LayoutFactory, settings: MediaSettings, count_decoders: list[list[int]]
) -> None:
    single = settings.model_copy(update={"max_concurrent_decodes": 1})
    await segments_of(layouts.get("x264_bframes"), single, SMALL)
    assert count_decoders == []


async def test_stopping_a_chunked_decode_kills_every_decoder_and_returns_the_permits(
    layouts: LayoutFactory, settings: MediaSettings, count_decoders: list[list[int]]
) -> None:
    # Queues of one 128 x 128 frame: with the pipe and the reader's buffer a decoder can run at most about four
    # frames ahead, so both (20 frames per chunk) are blocked, alive, when the consumer stops after 4 frames.
    limits = ChunkLimits(min_decoded_frames=250, max_decoded_frames=1000, max_buffered_bytes=128 * 128 * 3)
    spec = SEGMENTS.model_copy(update={"segment_s": 2.0, "image_size": 128})
    async with MediaIngestor(settings, chunks=limits) as ing:
        media = await ing.from_bytes(layouts.get("ten_minutes").read_bytes())
        async with contextlib.aclosing(ing.iter_segments(media, spec)) as segments:
            async for index, _ in aiter_enumerate(segments):
                if index == 0:  # inside the first chunk (20 frames), the second one decoding ahead
                    async with asyncio.timeout(10.0):
                        while len(ffmpeg_children()) < 2:  # both past the sandbox's exec
                            await asyncio.sleep(0.01)
                    assert [decoder_threads(pid) for pid in ffmpeg_children()] == ["1", "1"]
                    break
        assert ing.live_children == 0
        assert len(count_decoders) == 2
        # Both permits are back: two decodes start at once.
        async with asyncio.timeout(1.0):
            async with ing._decodes, ing._decodes:
                pass
        leftovers = [p for p in ing.temp_dir.iterdir() if p != media.path]
        assert leftovers == []


async def aiter_enumerate(items: AsyncGenerator[object, None]) -> AsyncGenerator[tuple[int, object], None]:
    index = 0
    async for item in items:
        yield index, item
        index += 1


async def test_a_sparse_clip_seeks_in_one_ffmpeg_instead_of_chunks(
    layouts: LayoutFactory, settings: MediaSettings, count_decoders: list[list[int]]
) -> None:
    # 8 frames over 10 minutes (a keyframe every 250 frames): eight seeks decode far less than any pass.
    async with MediaIngestor(settings, chunks=SMALL) as ing:
        media = await ing.from_bytes(layouts.get("ten_minutes").read_bytes())
        frames = await ing.decode_clip(media, SamplingSpec(num_frames=8, image_size=32))
    assert frames.shape == (8, 32, 32, 3)
    assert count_decoders == []
