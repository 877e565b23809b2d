"""Which frames to decode: the official VideoPrism rule, expressed in time so variable frame rate works.

For a window holding n frames the demos take `floor(linspace(0, n, T, endpoint=False))`. In time: the
i-th target is `t_i = start + i * (end - start) / T` and we take the frame on screen at t_i (the last one
with pts <= t_i). For constant frame rate both give the same indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.errors import InvalidRequestError
from service.media.models import MediaInfo
from service.media.settings import MediaSettings, SamplingSpec

# Float slack so a target that falls exactly on a frame's timestamp selects that frame.
_EPS_S = 1e-6


@dataclass(frozen=True)
class WindowPlan:
    """Frame indices (into MediaInfo.frame_pts) for one window; seconds are relative to the first frame."""

    start_s: float
    end_s: float
    indices: npt.NDArray[np.int64]  # [T], non-decreasing


def _relative_times(info: MediaInfo) -> npt.NDArray[np.float64]:
    """[N] presentation time of each frame in seconds from the first frame."""
    num, den = info.time_base
    pts = np.asarray(info.frame_pts, dtype=np.int64)
    return (pts - pts[0]).astype(np.float64) * num / den


def _sample_window(
    times: npt.NDArray[np.float64], start: float, end: float, count: int
) -> npt.NDArray[np.int64]:
    """[count] indices of the frames on screen at `count` uniform instants of [start, end)."""
    targets = start + np.arange(count, dtype=np.float64) * ((end - start) / count)
    idx = np.searchsorted(times, targets + _EPS_S, side="right") - 1
    first_in_window = int(np.searchsorted(times, start - _EPS_S, side="left"))
    # The frame on screen at `start` may begin before it; prefer the first frame inside the window if any.
    low = (
        first_in_window
        if first_in_window < len(times) and times[first_in_window] < end
        else max(0, first_in_window - 1)
    )
    return np.clip(idx, low, len(times) - 1).astype(np.int64)


def _bounds(info: MediaInfo, spec: SamplingSpec) -> tuple[float, float]:
    duration = info.duration_s
    start = spec.window_start_s or 0.0
    end = min(spec.window_end_s if spec.window_end_s is not None else duration, duration)
    if start >= duration or end <= start:
        raise InvalidRequestError(
            f"window [{start}, {end}) lies outside the video (duration {duration:.3f} s)"
        )
    return start, end


def plan_clip(info: MediaInfo, spec: SamplingSpec) -> WindowPlan:
    """One window of `spec.num_frames` frames over the requested (or whole) time range."""
    start, end = _bounds(info, spec)
    indices = _sample_window(_relative_times(info), start, end, spec.num_frames)
    return WindowPlan(start_s=start, end_s=end, indices=indices)


def plan_segments(info: MediaInfo, spec: SamplingSpec, settings: MediaSettings) -> list[WindowPlan]:
    """Consecutive windows of `spec.segment_s` seconds (the last one may be shorter), capped in number."""
    if spec.segment_s is None:
        return [plan_clip(info, spec)]
    start, end = _bounds(info, spec)
    cap = min(spec.max_segments or settings.max_segments, settings.max_segments)
    count = min(cap, math.ceil((end - start) / spec.segment_s - 1e-9))
    times = _relative_times(info)
    plans = []
    for k in range(max(1, count)):
        seg_start = start + k * spec.segment_s
        seg_end = min(end, seg_start + spec.segment_s)
        plans.append(
            WindowPlan(seg_start, seg_end, _sample_window(times, seg_start, seg_end, spec.num_frames))
        )
    return plans
