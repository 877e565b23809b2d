"""Any number of sampled frames: the 100/101 boundary of ffmpeg's expression parser, 1 000 and 30 000 frames.

Each case compares bitwise with every frame of the file decoded plainly by ffmpeg (`reference_frames`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator

import numpy as np
import pytest

from service.media import MediaIngestor, MediaSettings, SamplingSpec, Segment, decode_clip_sync, probe_sync
from service.media.select_expr import frame_runs, select_expression
from tests.media.test_sampling import reference_frames
from tests.media.videos import VideoFactory


def test_runs_and_tree_depth() -> None:
    assert frame_runs([0, 1, 2, 5, 7, 8]) == [(0, 2), (5, 5), (7, 8)]
    assert select_expression([3]) == "eq(n,3)"
    assert select_expression([0, 1, 2, 5]) == "if(lt(n,5),between(n,0,2),eq(n,5))"
    expr = select_expression(list(range(0, 60_000, 2)))  # 30 000 runs
    depth = peak = 0
    for ch in expr:
        depth += ch == "("
        depth -= ch == ")"
        peak = max(peak, depth)
    # ffmpeg's parser stops at 100 levels; the tree nests about 2 per level of log2(30 000) = 15.
    assert peak <= 40
    assert len(re.findall(r"\beq\(n,", expr)) == 30_000


@pytest.mark.parametrize("num_frames", [1, 100, 101, 250])
@pytest.mark.parametrize("strategy", ["one_pass", None])
def test_clip_frame_boundary(
    videos: VideoFactory, settings: MediaSettings, num_frames: int, strategy: str | None
) -> None:
    path = videos.get("cfr10s")  # 250 frames at 25 fps
    ref = reference_frames(path, 16, "squash")
    expected = np.floor(np.linspace(0, len(ref), num_frames, endpoint=False)).astype(int)
    spec = SamplingSpec(num_frames=num_frames, image_size=16, resize_mode="squash")
    got = decode_clip_sync(path, spec, settings, strategy=strategy)
    np.testing.assert_array_equal(got, ref[expected])


async def test_one_thousand_frames_stream(videos: VideoFactory, settings: MediaSettings) -> None:
    path = videos.get("long")
    spec = SamplingSpec(num_frames=25, image_size=16, resize_mode="squash", window_end_s=40.0, segment_s=1.0)
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(path.read_bytes())
        info = await ing.open_media(media)
        spans = ing.plan_segment_spans(info, spec)
        assert (spans.total, spans.truncated) == (40, False)
        segments = [s async for s in ing.iter_segments(media, spec, info)]
        assert not list(ing.temp_dir.glob("select-*"))  # the filter script is gone with the process
    frames = np.concatenate([s.frames for s in segments])
    assert frames.shape == (1000, 16, 16, 3)
    ref = reference_frames(path, 16, "squash")
    np.testing.assert_array_equal(frames, ref[0:2000:2])  # every other frame: 1 000 separate runs
    assert [(s.start_s, s.end_s) for s in segments[:2]] == [(0.0, 1.0), (1.0, 2.0)]


@pytest.mark.parametrize("chunked", [False, True])
async def test_thirty_thousand_frames_in_600_segments(
    videos: VideoFactory, settings: MediaSettings, chunked: bool
) -> None:
    """A 21-minute 50 fps video at 2 s segments x 50 frames: every other frame, no segment cap; in one ffmpeg
    and in keyframe-aligned chunks over two."""
    settings = settings.model_copy(update={"chunked_decode": chunked})
    path = videos.get("long")
    spec = SamplingSpec(
        num_frames=50, image_size=16, resize_mode="squash", window_end_s=1200.0, segment_s=2.0
    )
    ref = reference_frames(path, 16, "squash")
    assert probe_sync(path, settings).num_frames == 63_000
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(path.read_bytes())
        info = await ing.open_media(media)
        assert ing.plan_segment_spans(info, spec).total == 600  # above the whole-list cap of 64
        count = 0
        async with contextlib.aclosing(ing.iter_segments(media, spec, info)) as segments:
            async for k, segment in _enumerate(segments):
                if k == 0:
                    # 30 000 separate runs: the expression (~1 MB) can only travel as a filter script; a chunk's
                    # (1 500 runs) too, one per running decoder.
                    assert len(list(ing.temp_dir.glob("select-*.txt"))) in ({1, 2} if chunked else {1})
                assert segment.start_s == pytest.approx(2.0 * k)
                np.testing.assert_array_equal(segment.frames, ref[100 * k : 100 * (k + 1) : 2])
                count += 1
        assert not list(ing.temp_dir.glob("select-*.txt"))
    assert count == 600


async def test_max_segments_cuts_and_says_so(videos: VideoFactory, settings: MediaSettings) -> None:
    spec = SamplingSpec(num_frames=2, image_size=8, segment_s=2.0, max_segments=5)
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(videos.get("long").read_bytes())
        info = await ing.open_media(media)
        spans = ing.plan_segment_spans(info, spec)
        assert (spans.total, spans.available, spans.truncated) == (5, 630, True)
        assert len([s async for s in ing.iter_segments(media, spec, info)]) == 5


async def _enumerate(items: AsyncIterator[Segment]) -> AsyncGenerator[tuple[int, Segment], None]:
    k = 0
    async for item in items:
        yield k, item
        k += 1
