"""Choose how to decode: one pass over the needed span, or one keyframe seek per needed frame.

Cost is counted in decoded frames, a hardware-independent proxy measured against wall time by
`bench/decode.py`: a seek costs the frames from the preceding keyframe up to the target, plus a fixed
overhead for opening another demuxer and decoder.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

from service.media.models import MediaInfo

# Opening one more input and decoder costs about as much as decoding this many frames (see bench/decode.py).
SEEK_OVERHEAD_FRAMES = 4
# ffmpeg opens every input up front; beyond this many the memory of parallel decoders is not worth it.
MAX_SEEK_INPUTS = 32


@dataclass(frozen=True)
class DecodePlan:
    strategy: Literal["one_pass", "seek"]
    one_pass_frames: int  # estimated decoded frames of each strategy, for logs and the bench
    seek_frames: int


def keyframe_before(info: MediaInfo, index: int) -> int:
    """Index of the last keyframe at or before frame `index` (0 when none is marked)."""
    pos = bisect.bisect_right(info.keyframes, index) - 1
    return info.keyframes[pos] if pos >= 0 else 0


def choose_strategy(info: MediaInfo, unique_indices: list[int], forced: str | None = None) -> DecodePlan:
    """Pick the strategy with fewer decoded frames.

    `forced` ("one_pass" | "seek") is for the bench and tests; seek is never used above MAX_SEEK_INPUTS.
    """
    first, last = unique_indices[0], unique_indices[-1]
    one_pass = last - keyframe_before(info, first) + 1
    seek = sum(i - keyframe_before(info, i) + 1 + SEEK_OVERHEAD_FRAMES for i in unique_indices)
    seek_possible = len(unique_indices) <= MAX_SEEK_INPUTS
    if forced == "one_pass" or (forced == "seek" and not seek_possible):
        return DecodePlan("one_pass", one_pass, seek)
    if forced == "seek":
        return DecodePlan("seek", one_pass, seek)
    use_seek = seek_possible and seek < one_pass
    return DecodePlan("seek" if use_seek else "one_pass", one_pass, seek)
