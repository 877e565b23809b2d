"""Decoding real files of many kinds, and clean coded errors for the bad ones."""

from __future__ import annotations

import pytest

from service.errors import ServiceError
from service.media import MediaSettings, SamplingSpec, decode_clip_sync, probe_sync
from tests.media.videos import VideoFactory

SPEC = SamplingSpec(num_frames=4, image_size=16)


@pytest.mark.parametrize("name", ["h264", "vp9", "avi", "gif", "odd", "vfr", "one_frame", "faststart"])
def test_decodes_supported_files(videos: VideoFactory, settings: MediaSettings, name: str) -> None:
    frames = decode_clip_sync(videos.get(name), SPEC, settings)
    assert frames.shape == (4, 16, 16, 3)
    assert frames.dtype.name == "uint8"
    # testsrc patterns are colourful: a black or constant output would mean a broken pipeline.
    assert frames.std() > 5


def test_one_frame_video_repeats_its_only_frame(videos: VideoFactory, settings: MediaSettings) -> None:
    frames = decode_clip_sync(videos.get("one_frame"), SamplingSpec(num_frames=8, image_size=16), settings)
    assert (frames == frames[0]).all()


def test_rotation_metadata_is_applied(videos: VideoFactory, settings: MediaSettings) -> None:
    info = probe_sync(videos.get("rotated"), settings)
    assert (info.width, info.height) == (64, 48)  # coded size; rotation happens when decoding
    frame = decode_clip_sync(
        videos.get("rotated"), SamplingSpec(num_frames=1, image_size=16, resize_mode="squash"), settings
    )[0]
    gray = frame.mean(axis=2)
    # Upright the split between white and black is vertical; after a quarter turn it is horizontal.
    assert abs(gray[:4].mean() - gray[-4:].mean()) > 200
    assert abs(gray[:, :4].mean() - gray[:, -4:].mean()) < 30


def test_probe_reports_stream_facts(videos: VideoFactory, settings: MediaSettings) -> None:
    info = probe_sync(videos.get("h264"), settings)
    assert (info.codec, info.width, info.height, info.num_frames) == ("h264", 64, 48, 10)
    assert info.duration_s == pytest.approx(1.0, abs=1e-3)
    assert info.keyframes[0] == 0


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("audio_only", "no_video_stream"),
        ("empty", "unsupported_media"),
        ("random", "unsupported_media"),
        ("truncated", "unsupported_media"),  # moov atom at the end: nothing to index
        ("playlist", "unsupported_media"),  # the HLS demuxer is not allow-listed
        ("huge_gif", "resolution_too_large"),
    ],
)
def test_bad_inputs_raise_coded_errors(
    videos: VideoFactory, settings: MediaSettings, name: str, code: str
) -> None:
    with pytest.raises(ServiceError) as err:
        decode_clip_sync(videos.get(name), SPEC, settings)
    assert err.value.code == code


def test_truncated_faststart_file_still_yields_frames(videos: VideoFactory, settings: MediaSettings) -> None:
    frames = decode_clip_sync(videos.get("truncated_faststart"), SPEC, settings)
    assert frames.shape == (4, 16, 16, 3)


def test_caps_on_duration_pixels_and_frames(videos: VideoFactory, settings: MediaSettings) -> None:
    path = videos.get("h264")
    cases = [
        (settings.model_copy(update={"max_duration_s": 0.5}), "media_too_long"),
        (settings.model_copy(update={"max_pixels": 64 * 48 - 1}), "resolution_too_large"),
        (settings.model_copy(update={"max_frames": 5}), "media_too_long"),
    ]
    for capped, code in cases:
        with pytest.raises(ServiceError) as err:
            probe_sync(path, capped)
        assert err.value.code == code


def test_window_outside_video_is_invalid_request(videos: VideoFactory, settings: MediaSettings) -> None:
    with pytest.raises(ServiceError) as err:
        decode_clip_sync(
            videos.get("h264"), SamplingSpec(num_frames=2, image_size=8, window_start_s=5.0), settings
        )
    assert err.value.code == "invalid_request"


def test_imageio_ffmpeg_binary_gives_same_pixels(videos: VideoFactory, settings: MediaSettings) -> None:
    system = decode_clip_sync(videos.get("h264"), SPEC, settings)
    wheel = decode_clip_sync(videos.get("h264"), SPEC, settings.model_copy(update={"ffmpeg": "imageio"}))
    # Different ffmpeg versions may round a colour conversion differently, never by much.
    assert abs(system.astype(int) - wheel.astype(int)).max() <= 3
