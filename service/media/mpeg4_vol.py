"""The frame size an MPEG-4 Part 2 decoder reports, read from the VideoObjectLayer header in the `esds` box.

ISO/IEC 14496-2 6.2.3: ffmpeg's mov demuxer zeroes an mp4v track's size and lets the decoder read it from
this header, so the MP4 index checks the sample entry against it.
"""

from __future__ import annotations

from service.media.bit_reader import Bits

_EXTENDED_PAR = 15
_RECTANGULAR = 0


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
