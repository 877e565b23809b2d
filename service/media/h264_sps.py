"""What ffmpeg's H.264 decoder and parser take from the `avcC` box: frame size, NAL length size, frame rate.

ffmpeg's probe reports the decoder's frame size, not the sample entry's, and (ffmpeg 5.1) sizes packets that
have composition offsets from the VUI frame rate, so the MP4 index checks both against the container
(ITU-T H.264 7.3.2.1.1 and E.1.1: coded size minus the frame cropping; VUI timing and picture structure).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.media.bit_reader import Bits


@dataclass(frozen=True)
class AvcConfig:
    width: int
    height: int
    length_size: int  # bytes of each NAL unit's length prefix in the samples
    frames_only: bool  # frame_mbs_only_flag: no field pictures
    tick: tuple[int, int] | None  # VUI (num_units_in_tick, time_scale); None: no timing information
    pic_struct: bool  # pic_struct_present_flag: SEI may repeat fields or frames


# profile_idc values whose SPS carries chroma format, bit depths and scaling matrices.
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def avcc_frame_size(avcc: bytes) -> tuple[int, int]:
    """(width, height) after cropping, from an `avcC` payload. Raises ValueError or IndexError if malformed."""
    config = avc_config(avcc)
    return config.width, config.height


def avc_config(avcc: bytes) -> AvcConfig:
    """The first SPS of an `avcC` payload, read up to the VUI picture-structure flag. Raises ValueError or
    IndexError if malformed."""
    if len(avcc) < 7 or avcc[0] != 1:
        raise ValueError("not an avcC box")
    sps, pos = _parameter_sets(avcc, 6, avcc[5] & 0x1F, 7)
    pps, _ = _parameter_sets(avcc, pos + 1, avcc[pos], 8)
    if not sps or not pps:
        raise ValueError("avcC without SPS or PPS")
    return _sps(Bits(sps[0][1:].replace(b"\x00\x00\x03", b"\x00\x00")), (avcc[4] & 3) + 1)


def _parameter_sets(avcc: bytes, pos: int, count: int, nal_type: int) -> tuple[list[bytes], int]:
    """`count` length-prefixed NAL units of `nal_type` from avcc[pos:], and the position after them."""
    units = []
    for _ in range(count):
        length = int.from_bytes(avcc[pos : pos + 2], "big")
        unit = avcc[pos + 2 : pos + 2 + length]
        if len(unit) != length or length < 2 or unit[0] & 0x1F != nal_type:
            raise ValueError("a parameter set that does not fit the avcC box")
        units.append(unit)
        pos += 2 + length
    return units, pos


def _sps(r: Bits, length_size: int) -> AvcConfig:
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
    tick, pic_struct = _vui(r) if r.u(1) else (None, False)
    return AvcConfig(width, height, length_size, bool(frame_mbs_only), tick, pic_struct)


def _vui(r: Bits) -> tuple[tuple[int, int] | None, bool]:
    """(timing, pic_struct_present_flag) from vui_parameters()."""
    if r.u(1) and r.u(8) == 255:  # aspect_ratio_info_present_flag, aspect_ratio_idc == Extended_SAR
        r.u(32)
    if r.u(1):  # overscan_info_present_flag
        r.u(1)
    if r.u(1):  # video_signal_type_present_flag
        r.u(4)
        if r.u(1):  # colour_description_present_flag
            r.u(24)
    if r.u(1):  # chroma_loc_info_present_flag
        r.ue()
        r.ue()
    tick = None
    if r.u(1):  # timing_info_present_flag
        tick = (r.u(32), r.u(32))
        r.u(1)  # fixed_frame_rate_flag
    nal_hrd, vcl_hrd = r.u(1) and _skip_hrd(r), r.u(1) and _skip_hrd(r)
    if nal_hrd or vcl_hrd:
        r.u(1)  # low_delay_hrd_flag
    return tick, bool(r.u(1))


def _skip_hrd(r: Bits) -> bool:
    count = r.ue() + 1  # cpb_cnt_minus1
    r.u(8)  # bit_rate_scale, cpb_size_scale
    for _ in range(count):
        r.ue()
        r.ue()
        r.u(1)
    r.u(20)  # four delay and offset lengths
    return True


def _skip_scaling_list(r: Bits, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + r.se() + 256) % 256
        last = following or last
