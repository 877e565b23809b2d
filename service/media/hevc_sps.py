"""The frame size an HEVC decoder reports, read from the `hvcC` box's first sequence parameter set.

ITU-T H.265 7.3.2.2: pic_width/height_in_luma_samples minus the conformance window (ffmpeg ignores the VUI
default display window unless asked), so the MP4 index can check the sample entry against the bitstream.
"""

from __future__ import annotations

from service.media.bit_reader import Bits

_SPS_NAL = 33


def hvcc_frame_size(hvcc: bytes) -> tuple[int, int]:
    """(width, height) after the conformance window, from an `hvcC` payload. Raises ValueError or IndexError."""
    if len(hvcc) < 23 or hvcc[0] != 1:
        raise ValueError("not an hvcC box")
    pos = 23
    for _ in range(hvcc[22]):
        nal_type, count = hvcc[pos] & 0x3F, int.from_bytes(hvcc[pos + 1 : pos + 3], "big")
        pos += 3
        for _ in range(count):
            length = int.from_bytes(hvcc[pos : pos + 2], "big")
            nal = hvcc[pos + 2 : pos + 2 + length]
            if len(nal) != length:
                raise ValueError("hvcC NAL unit cut short")
            if nal_type == _SPS_NAL:
                return _sps_frame_size(Bits(nal[2:].replace(b"\x00\x00\x03", b"\x00\x00")))
            pos += 2 + length
    raise ValueError("hvcC without a sequence parameter set")


def _sps_frame_size(r: Bits) -> tuple[int, int]:
    r.u(4)  # sps_video_parameter_set_id
    sub_layers = r.u(3)  # sps_max_sub_layers_minus1
    r.u(1)  # sps_temporal_id_nesting_flag
    r.u(88)  # general profile space, tier, profile, compatibility and constraint flags
    r.u(8)  # general_level_idc
    present = [(r.u(1), r.u(1)) for _ in range(sub_layers)]  # (profile, level) present per sub-layer
    if sub_layers:
        r.u(2 * (8 - sub_layers))  # reserved_zero_2bits
    for profile, level in present:
        r.u(88 if profile else 0)
        r.u(8 if level else 0)
    r.ue()  # sps_seq_parameter_set_id
    chroma_format_idc = r.ue()
    separate_planes = r.u(1) if chroma_format_idc == 3 else 0
    width, height = r.ue(), r.ue()
    if r.u(1):  # conformance_window_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        plain = chroma_format_idc == 0 or separate_planes
        unit_x = 1 if plain or chroma_format_idc == 3 else 2
        unit_y = 2 if not plain and chroma_format_idc == 1 else 1
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    if width <= 0 or height <= 0:
        raise ValueError("the conformance window removes the whole frame")
    return width, height
