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


@dataclass(frozen=True)
class SegmentSpans:
    """The segment windows a request gets, known before any decoding.

    `spans` are (start_s, end_s) pairs, seconds from the first frame; `available` is how many segments the
    video holds at this interval, so `truncated` tells the caller that a count limit cut the list.
    """

    spans: tuple[tuple[float, float], ...]
    available: int

    @property
    def total(self) -> int:
        return len(self.spans)

    @property
    def truncated(self) -> bool:
        return self.available > len(self.spans)


def plan_segment_spans(info: MediaInfo, spec: SamplingSpec, cap: int | None = None) -> SegmentSpans:
    """Consecutive windows of `spec.segment_s` seconds (the last one may be shorter).

    The count is limited only by `spec.max_segments` and `cap` (whichever is smaller, if set); the
    video's length, bounded by `max_duration_s` at the probe, is the natural limit. Without `segment_s`
    the whole request window is one span.
    """
    start, end = _bounds(info, spec)
    if spec.segment_s is None:
        return SegmentSpans(((start, end),), 1)
    available = max(1, math.ceil((end - start) / spec.segment_s - 1e-9))
    limits = [n for n in (spec.max_segments, cap) if n is not None]
    count = min([available, *limits])
    spans = []
    for k in range(count):
        seg_start = start + k * spec.segment_s
        spans.append((seg_start, min(end, seg_start + spec.segment_s)))
    return SegmentSpans(tuple(spans), available)


def plan_windows(info: MediaInfo, spec: SamplingSpec, spans: SegmentSpans) -> list[WindowPlan]:
    """The frame indices of each span, sampled like a clip."""
    times = _relative_times(info)
    return [WindowPlan(a, b, _sample_window(times, a, b, spec.num_frames)) for a, b in spans.spans]


def plan_segments(info: MediaInfo, spec: SamplingSpec, settings: MediaSettings) -> list[WindowPlan]:
    """Segment windows capped at `settings.max_segments` (the whole-list API, which holds every frame)."""
    if spec.segment_s is None:
        return [plan_clip(info, spec)]
    return plan_windows(info, spec, plan_segment_spans(info, spec, settings.max_segments))
