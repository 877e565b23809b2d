"""The in-process probe for plain MP4/MOV files: the `moov` index gives the same MediaInfo as the ffmpeg probe.

The ffmpeg probe costs a process start (~45-50 ms of CPU with the Debian ffmpeg) before it reads a byte;
for a non-fragmented ISO-BMFF file every fact it reports is in the `moov` box. `read_mp4_index` reads box
headers and that box only (never the media data), rebuilds the video track's packets as ffmpeg's mov
demuxer would (`mp4_timeline.py`) and applies the same gate (`stream_checks.py`).

It answers None, so the caller runs the ffmpeg probe, whenever the file is anything but the simple case:
not ISO-BMFF, fragmented, truncated (a sample past the end of the file), more than one video track,
several sample descriptions, an edit list other than [empty edit,] one media edit at rate 1, a codec not
mapped below, tables that disagree on the sample count, or more samples than `max_frames`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

from service.media.bmff_boxes import Box, LayoutError, children, one, read_moov
from service.media.h264_sps import avcc_frame_size
from service.media.hevc_sps import hvcc_frame_size
from service.media.models import MediaInfo
from service.media.mp4_tables import TrackTables, movie_timescale, read_track
from service.media.mp4_timeline import rescale, track_packets, track_start
from service.media.mpeg4_vol import vol_frame_size
from service.media.settings import MediaSettings
from service.media.stream_checks import checked_media_info

# Sample-entry fourcc -> ffmpeg codec name, for codecs whose packets ffmpeg's mov demuxer passes through
# unparsed (a parser could add keyframe flags or durations that the tables do not show) and whose frame
# size the codec configuration box states (ffmpeg reports the decoder's size, not the sample entry's).
# VP9, AV1 and Motion JPEG keep theirs in the media data, so they are left to the ffmpeg probe.
_VIDEO_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc"}
_SIZE_READERS: dict[str, tuple[bytes, Callable[[bytes], tuple[int, int]]]] = {
    "h264": (b"avcC", avcc_frame_size),
    "hevc": (b"hvcC", hvcc_frame_size),
    "mpeg4": (b"esds", vol_frame_size),
}
_MPEG4_VISUAL = 0x20  # esds objectTypeIndication of MPEG-4 Part 2
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
        return _from_moov(moov, size, settings)
    except (LayoutError, OSError, struct.error, ValueError, IndexError, OverflowError):
        return None


def _from_moov(moov: bytes, file_size: int, settings: MediaSettings) -> MediaInfo:
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
    codec = _codec(video)
    width, height = struct.unpack_from(">HH", video.sample_entry, 24)
    if _bitstream_size(codec, video.sample_entry) != (width, height):
        # ffmpeg reports the decoder's frame size; a sample entry that says otherwise is left to it.
        raise LayoutError("the sample entry's frame size differs from the bitstream's")
    packets = track_packets(video, timescale)
    if packets.end_byte > file_size:
        raise LayoutError("samples past the end of the file")
    offset = _start_shift(video, packets.start_time, tracks, timescale)
    pts = packets.pts + offset
    kept = ~packets.discard
    if bool((packets.duration[kept] < 0).any()):
        raise LayoutError("a frame whose duration ffmpeg would estimate")
    if int(pts.max()) - int(packets.dts.min()) > _MAX_SPAN_S * video.timescale:
        raise LayoutError("timestamps spread too far")
    frames = list(
        zip(pts[kept].tolist(), packets.duration[kept].tolist(), packets.key[kept].tolist(), strict=True)
    )
    return checked_media_info(codec, width, height, (1, video.timescale), frames, settings)


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


def _codec(t: TrackTables) -> str:
    if len(t.sample_entry) < 78:
        raise LayoutError("short visual sample entry")
    if t.fourcc == b"mp4v":
        if _object_type(t.sample_entry) != _MPEG4_VISUAL:
            raise LayoutError("mp4v of another object type")
        return "mpeg4"
    codec = _VIDEO_CODECS.get(t.fourcc)
    if codec is None:
        raise LayoutError(f"sample entry {t.fourcc!r}")
    return codec


def _bitstream_size(codec: str, entry: bytes) -> tuple[int, int]:
    """The frame size in the codec configuration box: what ffmpeg's decoder will report."""
    kind, read = _SIZE_READERS[codec]
    config = one(_entry_children(entry), kind)
    if config is None:
        raise LayoutError(f"no {kind!r} box")
    return read(entry[config.start : config.end])


def _entry_children(entry: bytes) -> dict[bytes, list[Box]]:
    """The boxes after a visual sample entry's fixed 78 bytes; QuickTime may end them with 4 zero bytes."""
    end = len(entry) - 4 if len(entry) >= 82 and entry[-4:] == bytes(4) else len(entry)
    return children(entry, Box(b"entry", 78, end))


def _object_type(entry: bytes) -> int | None:
    """objectTypeIndication of the entry's esds (ES_Descriptor -> DecoderConfigDescriptor)."""
    esds = one(_entry_children(entry), b"esds")
    if esds is None:
        return None
    pos, end = esds.start + 4, esds.end
    for tag in (3, 4):
        if pos >= end or entry[pos] != tag:
            return None
        pos += 1
        for _ in range(4):  # expandable size: 7 bits per byte, high bit "more"
            more = entry[pos] & 0x80
            pos += 1
            if not more:
                break
        if tag == 3:
            flags = entry[pos + 2]
            pos += 3 + (2 if flags & 0x80 else 0)
            pos += 1 + entry[pos] if flags & 0x40 else 0
            pos += 2 if flags & 0x20 else 0
    return entry[pos] if pos < end else None


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
