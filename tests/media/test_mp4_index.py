"""The in-process MP4 index against the ffmpeg probe: the same MediaInfo, the same errors, the same pixels."""

from __future__ import annotations

import dataclasses
import random
import struct
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings, SamplingSpec
from service.media import ingestor as ingestor_module
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.models import Frames, MediaInfo
from service.media.mp4_index import read_mp4_index
from service.media.probe import probe_media
from service.media.process_groups import ChildTracker
from service.media.process_runner import ProcessLimits, ProcessResult
from tests.media.mp4_layouts import LayoutFactory, find_box
from tests.media.videos import VideoFactory

INDEXED = [
    "x264_bframes",
    "x264_no_bframes",
    "x264_open_gop",
    "x264_intra_refresh",
    "retimed_no_bframes",
    "mpeg4",
    "mpeg4_bframes",
    "mov",
    "mov_timecode",
    "hevc",
    "vfr_no_bframes",
    "vfr_mov",
    "faststart",
    "audio_first",
    "no_edit_list",
    "no_edit_list_audio",
    "empty_edit",
    "empty_edit_audio",
    "cut_mid_gop",
    "cut_mid_gop_audio",
    "cut_and_trimmed",
    "ten_minutes",
]
# Fragmented; two video tracks; ctts with a variable frame rate (ffmpeg sizes packets from a frame-rate
# estimate); ctts with an SPS frame rate other than the tables' (ffmpeg 5.1 sizes packets from it, 9.0 does
# not); VP9 and Motion JPEG, whose frame size is only in the media data.
FALLS_BACK = ["fragmented", "two_video_tracks", "vfr_bframes", "retimed_bframes", "vp9", "mjpeg_mov"]


def probe(path: Path, settings: MediaSettings) -> MediaInfo:
    return probe_media(path, settings, find_ffmpeg(settings))


@pytest.mark.parametrize("name", INDEXED)
def test_index_equals_the_ffmpeg_probe(layouts: LayoutFactory, settings: MediaSettings, name: str) -> None:
    path = layouts.get(name)
    indexed = read_mp4_index(path, settings)
    assert indexed is not None, f"{name} should be read in-process"
    expected = probe(path, settings)
    for field in dataclasses.fields(MediaInfo):
        assert getattr(indexed, field.name) == getattr(expected, field.name), field.name


def test_the_layouts_cover_what_they_claim(layouts: LayoutFactory, settings: MediaSettings) -> None:
    cut = probe(layouts.get("cut_mid_gop"), settings)
    # The edit starts after the keyframe, so the first displayed frame is not one (its GOP was discarded).
    assert cut.keyframes[0] > 0
    shifted, alone = (
        probe(layouts.get("empty_edit_audio"), settings),
        probe(layouts.get("empty_edit"), settings),
    )
    assert shifted.start_s == pytest.approx(0.5, abs=0.05) and alone.start_s == 0
    assert probe(layouts.get("ten_minutes"), settings).num_frames == 15_000
    data = layouts.get("x264_bframes").read_bytes()
    assert find_box(data, [b"moov", b"trak", b"edts", b"elst"])[1] > 0


@pytest.mark.parametrize("name", FALLS_BACK)
def test_layouts_outside_the_model_fall_back(
    layouts: LayoutFactory, settings: MediaSettings, name: str
) -> None:
    assert read_mp4_index(layouts.get(name), settings) is None
    assert probe(layouts.get(name), settings).num_frames > 0  # ffmpeg still reads them


@pytest.mark.parametrize("name", ["vp9", "avi", "gif", "vfr", "empty", "random", "audio_only", "truncated"])
def test_other_containers_and_broken_files_fall_back(
    videos: VideoFactory, settings: MediaSettings, name: str
) -> None:
    assert read_mp4_index(videos.get(name), settings) is None


@pytest.mark.parametrize(
    ("update", "code"),
    [
        ({"max_duration_s": 1.0}, "media_too_long"),
        ({"max_pixels": 64 * 48 - 1}, "resolution_too_large"),
        ({"codec_allowlist": ("vp9",)}, "unsupported_media"),
    ],
)
def test_caps_raise_the_probes_errors(
    layouts: LayoutFactory, settings: MediaSettings, update: dict[str, object], code: str
) -> None:
    capped = settings.model_copy(update=update)
    path = layouts.get("x264_bframes")
    codes = []
    for read in (read_mp4_index, probe):
        with pytest.raises(ServiceError) as err:
            read(path, capped)
        codes.append(err.value.code)
    assert codes == [code, code]


def test_more_samples_than_max_frames_is_left_to_ffmpeg(
    layouts: LayoutFactory, settings: MediaSettings
) -> None:
    capped = settings.model_copy(update={"max_frames": 50})
    assert read_mp4_index(layouts.get("x264_bframes"), capped) is None


def test_a_sample_entry_contradicting_the_bitstream_falls_back(
    layouts: LayoutFactory, settings: MediaSettings, tmp_path: Path
) -> None:
    for name in ("x264_bframes", "hevc", "mpeg4"):
        source = layouts.get(name)
        data = source.read_bytes()
        stsd, _ = find_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"])
        # stsd: header 8, version/flags 4, count 4, entry header 8, then the entry: width at +24.
        lying = _patched(
            source, tmp_path / f"lying_{source.name}", stsd + 16 + 8 + 24, struct.pack(">HH", 80, 64)
        )
        assert read_mp4_index(source, settings) is not None
        assert read_mp4_index(lying, settings) is None
        assert (probe(lying, settings).width, probe(lying, settings).height) == (64, 48)  # the decoder's size


def test_h264_keyframes_come_from_the_bitstream_not_stss(
    layouts: LayoutFactory, settings: MediaSettings, tmp_path: Path
) -> None:
    # ffmpeg's H.264 parser, not the sync sample table, flags keyframes: move the second sync sample off
    # its IDR frame and the probe still reports the IDR frame.
    source = layouts.get("x264_bframes")
    data = source.read_bytes()
    stss, _ = find_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stss"])
    (second,) = struct.unpack_from(">I", data, stss + 20)
    moved = _patched(source, tmp_path / "moved_stss.mp4", stss + 20, struct.pack(">I", second + 4))
    assert probe(moved, settings).keyframes == probe(source, settings).keyframes
    assert read_mp4_index(moved, settings) == probe(moved, settings)


def test_without_the_mov_demuxer_the_index_stays_out(layouts: LayoutFactory, settings: MediaSettings) -> None:
    no_mov = settings.model_copy(update={"allowed_formats": ("matroska,webm",)})
    assert read_mp4_index(layouts.get("x264_bframes"), no_mov) is None


def _patched(source: Path, target: Path, offset: int, value: bytes) -> Path:
    data = bytearray(source.read_bytes())
    data[offset : offset + len(value)] = value
    target.write_bytes(bytes(data))
    return target


def test_hostile_files_fall_back_quickly_in_bounded_memory(
    layouts: LayoutFactory, settings: MediaSettings, tmp_path: Path
) -> None:
    source = layouts.get("x264_bframes")  # moov at the end, one track
    data = source.read_bytes()
    moov, moov_size = find_box(data, [b"moov"])
    stsz, _ = find_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz"])
    stts, _ = find_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    (tmp_path / "half.mp4").write_bytes(data[: moov + moov_size // 2])
    (tmp_path / "no_moov_end.mp4").write_bytes(data[:moov])
    faststart = layouts.get("faststart").read_bytes()
    (tmp_path / "faststart_cut.mp4").write_bytes(faststart[: len(faststart) * 3 // 4])
    (tmp_path / "random.mp4").write_bytes(random.Random(7).randbytes(50_000))
    hostile = [
        tmp_path / "half.mp4",
        tmp_path / "no_moov_end.mp4",
        tmp_path / "faststart_cut.mp4",  # samples past the end of the file
        tmp_path / "random.mp4",
        _patched(source, tmp_path / "moov_past_eof.mp4", moov, struct.pack(">I", moov_size + 1000)),
        _patched(source, tmp_path / "moov_huge.mp4", moov, struct.pack(">I", 0xFFFFFFF0)),
        _patched(
            source, tmp_path / "zero_moov.mp4", moov, struct.pack(">I", 0)
        ),  # "to the end": fits, still read
        _patched(source, tmp_path / "zero_stts.mp4", stts, struct.pack(">I", 0)),
        _patched(source, tmp_path / "tiny_box.mp4", stts, struct.pack(">I", 3)),
        _patched(source, tmp_path / "huge_count.mp4", stsz + 16, struct.pack(">I", 0xFFFFFFF0)),
        _patched(source, tmp_path / "huge_stts.mp4", stts + 12, struct.pack(">I", 0x7FFFFFFF)),
        _patched(source, tmp_path / "large_size.mp4", moov, struct.pack(">I", 1) + b"moov" + b"\xff" * 8),
        _patched(source, tmp_path / "empty_sample.mp4", stsz + 20, struct.pack(">I", 0)),  # ffmpeg drops it
    ]
    expected = read_mp4_index(source, settings)
    tracemalloc.start()
    started = time.monotonic()
    for path in hostile:
        result = read_mp4_index(path, settings)
        # A zero size means "to the end of the file", which for a last box is the same box.
        assert result is None or (path.name == "zero_moov.mp4" and result == expected), path.name
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 5 and peak < 16 * 1024 * 1024


def test_mutated_indexes_give_coded_outcomes(
    layouts: LayoutFactory, settings: MediaSettings, tmp_path: Path
) -> None:
    source = layouts.get("audio_first")
    data = source.read_bytes()
    moov, moov_size = find_box(data, [b"moov"])
    rng = random.Random(2024)
    target = tmp_path / "mutated.mp4"
    outcomes = {"none": 0, "info": 0, "error": 0}
    for _ in range(300):
        out = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            out[moov + rng.randrange(moov_size)] = rng.randrange(256)
        target.write_bytes(bytes(out))
        try:
            info = read_mp4_index(target, settings)
        except ServiceError:
            outcomes["error"] += 1
            continue
        outcomes["none" if info is None else "info"] += 1
        if info is not None:
            assert info.num_frames > 0 and list(info.frame_pts) == sorted(info.frame_pts)
    assert outcomes["none"] > 0 and outcomes["info"] > 0


SPEC = SamplingSpec(num_frames=6, image_size=16)
SERVED = ["x264_bframes", "cut_mid_gop", "vfr_no_bframes", "empty_edit_audio", "mpeg4", "hevc"]


async def test_served_pixels_are_identical_with_the_index_on_and_off(
    layouts: LayoutFactory, settings: MediaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[list[str]] = []
    real_runner = ingestor_module.run_limited_async

    async def counting(argv: Sequence[str], limits: ProcessLimits, tracker: ChildTracker) -> ProcessResult:
        if "framecrc" in argv:
            probes.append(list(argv))
        return await real_runner(argv, limits, tracker)

    monkeypatch.setattr(ingestor_module, "run_limited_async", counting)
    segments = SPEC.model_copy(update={"segment_s": 1.0})
    results: dict[bool, list[Frames]] = {}
    for enabled in (True, False):
        probes.clear()
        async with MediaIngestor(settings.model_copy(update={"in_process_index": enabled})) as ing:
            decoded = []
            for name in SERVED:
                media = await ing.from_bytes(layouts.get(name).read_bytes())
                decoded.append(await ing.decode_clip(media, SPEC))
                decoded.extend(s.frames for s in await ing.decode_segments(media, segments))
            results[enabled] = decoded
        # Off: one ffmpeg probe per call; on: none at all for these files.
        assert len(probes) == (0 if enabled else 2 * len(SERVED))
    for on, off in zip(results[True], results[False], strict=True):
        np.testing.assert_array_equal(on, off)
