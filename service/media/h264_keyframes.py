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
_WINDOW_BYTES = 8 << 20  # one read gathers the packet heads of this much of the file
_DENSE_BYTES_PER_PACKET = 4096  # above this average packet size, reading each head costs less than the span


def parser_keyframes(
    fd: int, offsets: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64], length_size: int
) -> npt.NDArray[np.bool_]:
    """The key flag ffmpeg's H.264 parser gives each packet (file offset, size; `length_size`-byte NAL lengths).

    Most packets open with their slice: those are judged from their first bytes, gathered from a few large reads
    (no system call per packet); the rest (SEI first, anything odd) walk their NAL units one by one.
    """
    key = np.zeros(len(offsets), dtype=bool)
    slow = np.ones(len(offsets), dtype=bool)
    head = length_size + 1
    order = np.argsort(offsets, kind="stable")
    begin = 0
    while begin < len(order):
        start = int(offsets[order[begin]])
        # The packets whose heads lie within one read of _WINDOW_BYTES from `start`.
        end = int(np.searchsorted(offsets[order], start + _WINDOW_BYTES - head, side="right"))
        end = max(end, begin + 1)
        window = order[begin:end]
        span = int(offsets[window[-1]]) - start + head
        if span <= _DENSE_BYTES_PER_PACKET * len(window):
            data = np.frombuffer(os.pread(fd, span, start), dtype=np.uint8)
            at = offsets[window] - start
        else:  # large packets: their heads alone, rather than the whole span
            heads = [os.pread(fd, head, int(o)) for o in offsets[window]]
            data = np.frombuffer(b"".join(h.ljust(head, b"\0") for h in heads), dtype=np.uint8)
            at = np.where([len(h) == head for h in heads], np.arange(len(window), dtype=np.int64) * head, -1)
        whole = (at >= 0) & (at + head <= len(data)) & (sizes[window] > length_size)
        window, at = window[whole], at[whole]
        length = np.zeros(len(at), dtype=np.int64)
        for j in range(length_size):
            length = (length << 8) | data[at + j]
        kind = data[at + length_size] & 0x1F
        plain = (length > 0) & (length_size + length <= sizes[window]) & ((kind == _SLICE) | (kind == _IDR))
        key[window[plain]] = kind[plain] == _IDR
        slow[window[plain]] = False
        begin = end
    for i in np.flatnonzero(slow):
        key[i] = _is_key(fd, int(offsets[i]), int(sizes[i]), length_size)
    return key


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
