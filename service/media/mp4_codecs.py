"""Which codec an MP4 video track holds, in ffmpeg's names, and the frame size ffmpeg's decoder will report.

ffmpeg reports the decoder's frame size, not the sample entry's, so the size is read from the codec
configuration box (H.264 SPS in `avcC`, HEVC SPS in `hvcC`, MPEG-4 VOL header in `esds`) and a sample entry
that says otherwise is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from service.media.bmff_boxes import Box, LayoutError, children, one
from service.media.h264_sps import AvcConfig, avc_config, avcc_frame_size
from service.media.hevc_sps import hvcc_frame_size
from service.media.mp4_tables import TrackTables
from service.media.mpeg4_vol import esds_config, esds_frame_size

# Sample-entry fourcc -> ffmpeg codec name, for codecs whose packets ffmpeg's mov demuxer passes through
# unparsed (a parser could add keyframe flags or durations that the tables do not show) and whose frame
# size the codec configuration box states (ffmpeg reports the decoder's size, not the sample entry's).
# VP9, AV1 and Motion JPEG keep theirs in the media data, so they are left to the ffmpeg probe.
_VIDEO_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc"}
_SIZE_READERS: dict[str, tuple[bytes, Callable[[bytes], tuple[int, int]]]] = {
    "h264": (b"avcC", avcc_frame_size),
    "hevc": (b"hvcC", hvcc_frame_size),
    "mpeg4": (b"esds", esds_frame_size),
}
_MPEG4_VISUAL = 0x20  # esds objectTypeIndication of MPEG-4 Part 2

_VISUAL_ENTRY_BYTES = 78  # the fixed fields of a visual sample entry, before its child boxes


def video_format(t: TrackTables) -> tuple[str, int, int]:
    """(ffmpeg codec name, width, height) of a video track; LayoutError where the ffmpeg probe must decide."""
    codec = _codec(t)
    width, height = struct.unpack_from(">HH", t.sample_entry, 24)
    if _bitstream_size(codec, t.sample_entry) != (width, height):
        raise LayoutError("the sample entry's frame size differs from the bitstream's")
    return codec, width, height


def avc_config_of(t: TrackTables) -> AvcConfig:
    """The H.264 track's decoder configuration (`avcC`)."""
    config = one(_entry_children(t.sample_entry), b"avcC")
    if config is None:
        raise LayoutError("no avcC box")
    return avc_config(t.sample_entry[config.start : config.end])


def _codec(t: TrackTables) -> str:
    if len(t.sample_entry) < _VISUAL_ENTRY_BYTES:
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
    return children(entry, Box(b"entry", _VISUAL_ENTRY_BYTES, end))


def _object_type(entry: bytes) -> int:
    """objectTypeIndication of the entry's esds (ES_Descriptor -> DecoderConfigDescriptor)."""
    esds = one(_entry_children(entry), b"esds")
    if esds is None:
        raise LayoutError("mp4v without esds")
    return esds_config(entry[esds.start : esds.end])[0]
