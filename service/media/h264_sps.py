"""The displayed frame size an H.264 decoder reports, read from the `avcC` box's first sequence parameter set.

ffmpeg's probe reports the decoder's frame size, not the sample entry's; the MP4 index uses this to check
that the two agree (ITU-T H.264 7.3.2.1.1: coded size in macroblocks minus the frame cropping).
"""

from __future__ import annotations

from service.media.bit_reader import Bits

# profile_idc values whose SPS carries chroma format, bit depths and scaling matrices.
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def avcc_frame_size(avcc: bytes) -> tuple[int, int]:
    """(width, height) after cropping, from an `avcC` payload. Raises ValueError or IndexError if malformed."""
    if len(avcc) < 8 or avcc[0] != 1 or avcc[5] & 0x1F == 0:
        raise ValueError("avcC without a sequence parameter set")
    length = int.from_bytes(avcc[6:8], "big")
    nal = avcc[8 : 8 + length]
    if len(nal) != length or length < 4 or nal[0] & 0x1F != 7:
        raise ValueError("not an SPS NAL unit")
    return _sps_frame_size(Bits(nal[1:].replace(b"\x00\x00\x03", b"\x00\x00")))


def _sps_frame_size(r: Bits) -> tuple[int, int]:
    profile_idc = r.u(8)
    r.u(16)  # constraint flags, level_idc
    r.ue()  # seq_parameter_set_id
    chroma_format_idc, separate_planes = 1, 0
    if profile_idc in _HIGH_PROFILES:
        chroma_format_idc = r.ue()
        if chroma_format_idc == 3:
            separate_planes = r.u(1)
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.u(1)  # qpprime_y_zero_transform_bypass_flag
        if r.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if r.u(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)  # gaps_in_frame_num_value_allowed_flag
    width = (r.ue() + 1) * 16
    map_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.u(1)  # mb_adaptive_frame_field_flag
    height = (2 - frame_mbs_only) * map_units * 16
    r.u(1)  # direct_8x8_inference_flag
    if r.u(1):  # frame_cropping_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        if chroma_format_idc == 0 or separate_planes:
            unit_x, unit_y = 1, 2 - frame_mbs_only
        else:
            unit_x = 1 if chroma_format_idc == 3 else 2
            unit_y = (2 if chroma_format_idc == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    if width <= 0 or height <= 0:
        raise ValueError("cropping removes the whole frame")
    return width, height


def _skip_scaling_list(r: Bits, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + r.se() + 256) % 256
        last = following or last
