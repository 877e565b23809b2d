"""The sampled frames are exactly the frames the VideoPrism rule names, for every strategy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from service.media import MediaSettings, SamplingSpec, decode_clip_sync, decode_segments_sync, probe_sync
from service.media.frame_decoder import shape_filter
from tests.media.videos import FFMPEG, VideoFactory


def reference_frames(path: Path, size: int, mode: str) -> npt.NDArray[np.uint8]:
    """Every frame of `path`, decoded plainly by ffmpeg with the same resize chain: [N, S, S, 3]."""
    out = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf", shape_filter(size, mode),
         "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, size, size, 3)


def frame_times(path: Path) -> npt.NDArray[np.float64]:
    """Presentation times of the decoded frames, from ffprobe (independent of the code under test)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
         "-of", "default=nw=1:nk=1", str(path)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    times = np.array([float(t) for t in out.split() if t.strip() and t != "N/A"])
    return np.sort(times) - times.min()


@pytest.mark.parametrize("strategy", ["one_pass", "seek"])
@pytest.mark.parametrize("num_frames", [1, 7, 16, 90])
def test_clip_matches_linspace_rule(
    videos: VideoFactory, settings: MediaSettings, strategy: str, num_frames: int
) -> None:
    path = videos.get("indexed")  # 60 frames, B-frames, keyframe every 12
    ref = reference_frames(path, 16, "squash")
    expected = np.floor(np.linspace(0, len(ref), num_frames, endpoint=False)).astype(int)
    got = decode_clip_sync(path, SamplingSpec(num_frames=num_frames, image_size=16, resize_mode="squash"),
                           settings, strategy=strategy)  # fmt: skip
    np.testing.assert_array_equal(got, ref[expected])


@pytest.mark.parametrize("strategy", ["one_pass", "seek"])
def test_window_selects_frames_inside_it(
    videos: VideoFactory, settings: MediaSettings, strategy: str
) -> None:
    path = videos.get("indexed")  # 30 fps: [1.0, 1.5) holds frames 30..44
    ref = reference_frames(path, 16, "crop")
    spec = SamplingSpec(num_frames=5, image_size=16, window_start_s=1.0, window_end_s=1.5)
    got = decode_clip_sync(path, spec, settings, strategy=strategy)
    np.testing.assert_array_equal(got, ref[[30, 33, 36, 39, 42]])


def test_variable_frame_rate_samples_by_time(videos: VideoFactory, settings: MediaSettings) -> None:
    path = videos.get("vfr")
    ref = reference_frames(path, 16, "crop")
    times = frame_times(path)
    info = probe_sync(path, settings)
    targets = np.arange(8) * (info.duration_s / 8)
    expected = np.searchsorted(times, targets + 1e-6, side="right") - 1
    # The first second holds 10 of 50 frames but over half the duration: time-uniform sampling puts over
    # half its samples there, where a frame-index rule would put 2.
    assert (expected < 10).sum() >= 4
    got = decode_clip_sync(path, SamplingSpec(num_frames=8, image_size=16), settings)
    np.testing.assert_array_equal(got, ref[expected])


def test_segments_cover_the_video_with_their_own_times(videos: VideoFactory, settings: MediaSettings) -> None:
    path = videos.get("indexed")  # 2.0 s at 30 fps
    ref = reference_frames(path, 16, "crop")
    segments = decode_segments_sync(path, SamplingSpec(num_frames=3, image_size=16, segment_s=0.75), settings)
    assert [(s.start_s, s.end_s) for s in segments] == [(0.0, 0.75), (0.75, 1.5), (1.5, 2.0)]
    np.testing.assert_array_equal(segments[0].frames, ref[[0, 7, 15]])
    # Frame 22 (0.733 s) starts before the segment: the first frame inside it is 23.
    np.testing.assert_array_equal(segments[1].frames, ref[[23, 30, 37]])
    np.testing.assert_array_equal(segments[2].frames, ref[[45, 50, 55]])


def test_segment_count_is_capped(videos: VideoFactory, settings: MediaSettings) -> None:
    spec = SamplingSpec(num_frames=2, image_size=8, segment_s=0.1, max_segments=50)
    capped = settings.model_copy(update={"max_segments": 4})
    segments = decode_segments_sync(videos.get("indexed"), spec, capped)
    assert len(segments) == 4
    assert segments[-1].end_s == pytest.approx(0.4)
