"""The frame size an MPEG-4 Part 2 decoder reports, read from the VideoObjectLayer header in the `esds` box.

ISO/IEC 14496-2 6.2.3: ffmpeg's mov demuxer zeroes an mp4v track's size and lets the decoder read it from
this header, so the MP4 index checks the sample entry against it.
"""

from __future__ import annotations

from service.media.bit_reader import Bits

_EXTENDED_PAR = 15
_RECTANGULAR = 0


def esds_config(esds: bytes) -> tuple[int, bytes]:
    """(objectTypeIndication, DecoderSpecificInfo) of an `esds` payload; every descriptor must fit its parent."""
    end = len(esds)
    pos, end = _descriptor(esds, 4, end, 3)  # ES_Descriptor
    flags = esds[pos + 2]
    pos += 3 + (2 if flags & 0x80 else 0)  # ES_ID, flags, dependsOn_ES_ID
    pos += 1 + esds[pos] if flags & 0x40 else 0  # URL
    pos += 2 if flags & 0x20 else 0  # OCR_ES_Id
    pos, end = _descriptor(esds, pos, end, 4)  # DecoderConfigDescriptor
    object_type = esds[pos]
    pos, end = _descriptor(esds, pos + 13, end, 5)  # DecoderSpecificInfo, after the 13 fixed bytes
    return object_type, esds[pos:end]


def esds_frame_size(esds: bytes) -> tuple[int, int]:
    """(width, height) from the VOL header in an `esds` payload's DecoderSpecificInfo."""
    return vol_frame_size(esds_config(esds)[1])


def _descriptor(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """[start, end) of the body of the `tag` descriptor at data[pos], which must fit before `end`."""
    if pos >= end or data[pos] != tag:
        raise ValueError(f"expected descriptor tag {tag}")
    pos += 1
    size = 0
    for _ in range(4):  # expandable size: 7 bits per byte, high bit "more"
        byte = data[pos]
        pos += 1
        size = (size << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    if pos + size > end:
        raise ValueError(f"descriptor {tag} runs past its parent")
    return pos, pos + size


def vol_frame_size(config: bytes) -> tuple[int, int]:
    """(width, height) from a DecoderSpecificInfo holding a VOL start code. Raises ValueError or IndexError."""
    for start in range(len(config) - 3):
        if config[start : start + 3] == b"\x00\x00\x01" and 0x20 <= config[start + 3] <= 0x2F:
            return _vol(Bits(config[start + 4 :]))
    raise ValueError("no video object layer header")


def _vol(r: Bits) -> tuple[int, int]:
    r.u(1)  # random_accessible_vol
    r.u(8)  # video_object_type_indication
    if r.u(1):  # is_object_layer_identifier
        r.u(7)  # video_object_layer_verid, video_object_layer_priority
    if r.u(4) == _EXTENDED_PAR:  # aspect_ratio_info
        r.u(16)  # par_width, par_height
    if r.u(1):  # vol_control_parameters
        r.u(3)  # chroma_format, low_delay
        if r.u(1):  # vbv_parameters: bit rate, buffer size and occupancy with their marker bits
            r.u(79)
    shape = r.u(2)
    if shape != _RECTANGULAR:
        raise ValueError("non-rectangular video object layer")
    r.u(1)  # marker
    resolution = r.u(16)  # vop_time_increment_resolution
    r.u(1)  # marker
    if r.u(1):  # fixed_vop_rate
        r.u(max(1, (resolution - 1).bit_length()))
    r.u(1)  # marker
    width = r.u(13)
    r.u(1)  # marker
    height = r.u(13)
    if width == 0 or height == 0:
        raise ValueError("empty video object layer")
    return width, height
