"""Which H.264 packets ffmpeg flags as keyframes: its parser's verdict, not the `stss` table's.

ffmpeg runs its H.264 parser over MP4 packets, and the parser alone sets the packet's key flag: a packet is
a keyframe when it holds an IDR slice, or a recovery point SEI before its first slice (libavcodec
h264_parser.c, parse_nal_units). So the MP4 index reads the first NAL units of every packet, a few hundred
bytes each; a packet it cannot walk raises LayoutError and the ffmpeg probe decides.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from service.media.bit_reader import Bits
from service.media.bmff_boxes import LayoutError

_SLICE, _IDR, _SEI = 1, 5, 6
_RECOVERY_POINT = 6  # SEI payload type
_HEAD_BYTES = 256  # read per packet at first: enough for the slice header behind the usual small NAL units
_MAX_SEI_BYTES = 1 << 16


def parser_keyframes(
    fd: int, offsets: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64], length_size: int
) -> npt.NDArray[np.bool_]:
    """The key flag ffmpeg's H.264 parser gives each packet (file offset, size; `length_size`-byte NAL lengths)."""
    return np.fromiter(
        (_is_key(fd, int(o), int(s), length_size) for o, s in zip(offsets, sizes, strict=True)),
        dtype=bool,
        count=len(offsets),
    )


def _is_key(fd: int, offset: int, size: int, length_size: int) -> bool:
    head = os.pread(fd, min(size, _HEAD_BYTES), offset)
    pos, recovery = 0, False
    while pos + length_size < size:
        if pos + length_size + 1 > len(head):
            head = os.pread(fd, min(size, pos + length_size + _HEAD_BYTES), offset)
        length = int.from_bytes(head[pos : pos + length_size], "big")
        if length == 0 or pos + length_size + length > size:
            raise LayoutError("a packet whose NAL units do not add up")
        kind = head[pos + length_size] & 0x1F
        if kind in (_SLICE, _IDR):
            return kind == _IDR or recovery
        if kind == _SEI:
            if length > _MAX_SEI_BYTES:
                raise LayoutError("an SEI NAL unit above the cap")
            body = os.pread(fd, length - 1, offset + pos + length_size + 1)
            recovery = recovery or _has_recovery_point(body.replace(b"\x00\x00\x03", b"\x00\x00"))
        pos += length_size + length
    return False  # no slice: the parser leaves the packet without a key flag


def _has_recovery_point(rbsp: bytes) -> bool:
    """Whether ffmpeg's SEI reader (h264_sei.c) finds a valid recovery point message in this SEI RBSP."""
    trimmed = rbsp.rstrip(b"\x00")
    if not trimmed:
        return False
    last = trimmed[-1]
    size_bits = len(trimmed) * 8 - ((last & -last).bit_length())  # up to the rbsp_stop_one_bit
    pos = 0
    while size_bits - pos * 8 > 16 and trimmed[pos] != 0x80:
        kind, pos = _sei_number(trimmed, pos)
        length, pos = _sei_number(trimmed, pos)
        if length > (size_bits - pos * 8) // 8:
            return False  # ffmpeg stops at a truncated message
        if kind == _RECOVERY_POINT:
            try:
                if Bits(trimmed[pos : pos + length]).ue() <= 65535:
                    return True
            except (IndexError, ValueError):
                return False
        pos += length
    return False


def _sei_number(data: bytes, pos: int) -> tuple[int, int]:
    """An SEI payload type or size: 0xFF bytes add 255 each, the first other byte ends it."""
    value = 0
    while data[pos] == 0xFF:
        value += 255
        pos += 1
    return value + data[pos], pos + 1
