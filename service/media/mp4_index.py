"""The in-process probe for plain MP4/MOV files: the `moov` index gives the same MediaInfo as the ffmpeg probe.

The ffmpeg probe costs a process start (~45-50 ms of CPU with the Debian ffmpeg) before it reads a byte;
for a non-fragmented ISO-BMFF file almost every fact it reports is in the `moov` box (the frame size in the
codec configuration, `mp4_codecs.py`; H.264 key flags in each packet's first NAL units, `h264_keyframes.py`).
`read_mp4_index` reads the box headers, that box and those NAL units, rebuilds the video track's packets as
ffmpeg's mov demuxer would (`mp4_timeline.py`) and applies the same gate (`stream_checks.py`).

It answers None, so the caller runs the ffmpeg probe, whenever the file is anything but the simple case:
not ISO-BMFF, fragmented, truncated (a sample past the end of the file), more than one video track,
several sample descriptions, an edit list other than [empty edit,] one media edit at rate 1, a codec other
than H.264, HEVC and MPEG-4 Part 2, tables that disagree on the sample count, or more samples than
`max_frames` (docs/media.md, "Two probe paths", has the whole list).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.media.bmff_boxes import Box, LayoutError, children, one, read_moov
from service.media.h264_keyframes import parser_keyframes
from service.media.models import MediaInfo
from service.media.mp4_codecs import avc_config_of, video_format
from service.media.mp4_tables import TrackTables, movie_timescale, read_track
from service.media.mp4_timeline import Packets, rescale, track_end_byte, track_packets, track_start
from service.media.settings import MediaSettings
from service.media.stream_checks import checked_media_info

# Non-audio, non-video tracks ffmpeg exposes as data or subtitle streams; any other fourcc there might be
# video to ffmpeg (it looks sample entries up in its video tag tables whatever the handler says).
_DATA_FOURCCS = frozenset(
    {b"tmcd", b"mebx", b"text", b"tx3g", b"wvtt", b"stpp", b"c608", b"c708", b"rtp ", b"gpmd", b"camm"}
)
_MAX_TRACKS = 64
_MAX_SPAN_S = 36_000  # ffmpeg drops timestamps that jump by more than 30 hours; stay far below
_AV_TIME_BASE = 1_000_000


def read_mp4_index(path: Path, settings: MediaSettings) -> MediaInfo | None:
    """MediaInfo from the file's `moov` box, or None when only the ffmpeg probe can say. Blocking.

    Raises the same coded errors as the ffmpeg probe's gate (media_too_long, resolution_too_large,
    unsupported_media, decode_failed) for a file it can read.
    """
    if "mov" not in settings.format_whitelist.split(","):
        return None  # the operator turned the mov demuxer off: ffmpeg refuses the file, and so must we
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            # Every sample costs at most ~44 bytes of tables per track; leave room for audio and metadata.
            moov = read_moov(f, size, settings.max_frames * 64 + (1 << 20))
            return _from_moov(moov, f.fileno(), size, settings)
    except (LayoutError, OSError, struct.error, ValueError, IndexError, OverflowError):
        return None


def _from_moov(moov: bytes, fd: int, file_size: int, settings: MediaSettings) -> MediaInfo:
    kids = children(moov, Box(b"moov", 0, len(moov)))
    if b"mvex" in kids or b"cmov" in kids:
        raise LayoutError("fragmented or compressed movie")
    mvhd = one(kids, b"mvhd")
    if mvhd is None:
        raise LayoutError("no mvhd")
    timescale = movie_timescale(moov, mvhd)
    traks = kids.get(b"trak", [])
    if len(traks) > _MAX_TRACKS:
        raise LayoutError("too many tracks")
    tracks = [read_track(moov, trak) for trak in traks]
    video = _the_video_track(tracks)
    if video.sample_count > settings.max_frames:
        raise LayoutError("more samples than max_frames")  # the ffmpeg probe gives the coded error
    codec, width, height = video_format(video)
    packets = track_packets(video, timescale)
    # ffmpeg reads packets of every track while it probes the streams, so any track cut short changes its answer.
    if max([packets.end_byte] + [track_end_byte(t) for t in tracks if t is not video]) > file_size:
        raise LayoutError("samples past the end of the file")
    key = _h264_keyframes(fd, video, packets) if codec == "h264" else packets.key
    offset = _start_shift(video, packets.start_time, tracks, timescale)
    pts = packets.pts + offset
    kept = ~packets.discard
    if bool((packets.duration[kept] < 0).any()):
        raise LayoutError("a frame whose duration ffmpeg would estimate")
    if int(pts.max()) - int(packets.dts.min()) > _MAX_SPAN_S * video.timescale:
        raise LayoutError("timestamps spread too far")
    frames = list(zip(pts[kept].tolist(), packets.duration[kept].tolist(), key[kept].tolist(), strict=True))
    return checked_media_info(codec, width, height, (1, video.timescale), frames, settings)


def _h264_keyframes(fd: int, video: TrackTables, packets: Packets) -> npt.NDArray[np.bool_]:
    """ffmpeg's key flags for an H.264 track, which come from its parser; raises LayoutError where ffmpeg 5.1
    would size packets from the SPS frame rate and that rate disagrees with the tables."""
    config = avc_config_of(video)
    if video.ctts is not None:
        # With composition offsets ffmpeg 5.1 sizes every packet from the VUI frame rate (one frame: two
        # ticks), ffmpeg 9.0 from stts; accept only streams where the two agree.
        if config.tick is None or not config.frames_only or config.pic_struct or config.tick[1] == 0:
            raise LayoutError("no plain VUI frame rate to size packets with")
        units, scale = config.tick
        if 2 * units * video.timescale // scale != int(video.stts[1][0]):
            raise LayoutError("the VUI frame rate disagrees with stts")
    key = parser_keyframes(fd, packets.offset, packets.size, config.length_size)
    if not bool(key[0]):
        raise LayoutError("the first packet is not a keyframe to ffmpeg's parser")  # stream copy drops it
    return key


def _the_video_track(tracks: list[TrackTables]) -> TrackTables:
    """The only track ffmpeg would expose as video (so `-map V:0` picks it); anything ambiguous is refused."""
    video: list[TrackTables] = []
    for t in tracks:
        if t.chapter_ref:
            raise LayoutError("chapter tracks")  # ffmpeg may turn a video chapter track into a cover picture
        if t.handler == b"vide":
            video.append(t)
        elif t.handler != b"soun" and t.fourcc not in _DATA_FOURCCS:
            raise LayoutError(f"a {t.handler!r} track of {t.fourcc!r}")
    if len(video) != 1:
        raise LayoutError(f"{len(video)} video tracks")
    return video[0]


def _start_shift(video: TrackTables, video_start: int, tracks: list[TrackTables], timescale: int) -> int:
    """What ffmpeg adds to every pts: minus the file's start time (libavformat's update_stream_timings)."""
    main: list[int] = []
    side: list[int] = []  # subtitle and data streams, which only count when close to the others
    for t in tracks:
        start = video_start if t is video else track_start(t, timescale)
        if start is not None:
            (main if t.handler in (b"vide", b"soun") else side).append(
                rescale(start, _AV_TIME_BASE, t.timescale)
            )
    start_us = min(main)
    if side and start_us > min(side) and start_us - min(side) < _AV_TIME_BASE:
        start_us = min(side)
    return rescale(-start_us, video.timescale, _AV_TIME_BASE)
