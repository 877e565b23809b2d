"""The probe gate shared by both probe paths: stream facts plus every displayable frame -> MediaInfo or a coded error.

The ffmpeg probe (`probe.py`) and the in-process MP4 index (`mp4_index.py`) both end here, so the caps
(pixels, frames, duration, codec allow-list) and the end-of-stream rule are one piece of code.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from service.errors import (
    DecodeFailedError,
    MediaTooLongError,
    ResolutionTooLargeError,
    UnsupportedMediaError,
)
from service.media.models import MediaInfo
from service.media.settings import MediaSettings

NOPTS = -(2**63)  # AV_NOPTS_VALUE


def checked_media_info(
    codec: str,
    width: int,
    height: int,
    time_base: tuple[int, int] | None,
    frames: Sequence[tuple[int, int, bool]],
    settings: MediaSettings,
) -> MediaInfo:
    """MediaInfo from displayable `frames` as (pts, duration, keyframe) in demux order, or the cap's error.

    `time_base` None means the stream had none usable. Raises ResolutionTooLargeError, DecodeFailedError,
    MediaTooLongError or UnsupportedMediaError, in that order of checking.
    """
    if width * height > settings.max_pixels:
        raise ResolutionTooLargeError(f"{width}x{height} exceeds {settings.max_pixels} pixels")
    if width <= 0 or height <= 0:
        raise DecodeFailedError("the video stream has no frame size")
    if not frames:
        raise DecodeFailedError("the video stream has no frames")
    if len(frames) > settings.max_frames:
        raise MediaTooLongError(f"more than {settings.max_frames} frames")
    if codec not in settings.codec_allowlist:
        raise UnsupportedMediaError(
            f"video codec {codec!r} is not accepted; allowed: {', '.join(settings.codec_allowlist)}"
        )
    if time_base is None or time_base[0] <= 0 or time_base[1] <= 0:
        raise DecodeFailedError("the video stream has no usable time base")
    end_pts = max(NOPTS, max(pts + max(duration, 0) for pts, duration, _ in frames))
    # Stable: frames sharing a pts keep their demux order, whichever path produced them.
    ordered = sorted(((pts, key) for pts, _, key in frames), key=lambda f: f[0])
    pts_sorted = tuple(p for p, _ in ordered)
    if end_pts <= pts_sorted[-1]:
        # Missing durations: assume the last frame lasts as long as the median gap (or 1/25 s alone).
        gaps = sorted(b - a for a, b in itertools.pairwise(pts_sorted) if b > a)
        fallback = gaps[len(gaps) // 2] if gaps else max(1, time_base[1] // (25 * time_base[0]))
        end_pts = pts_sorted[-1] + fallback
    info = MediaInfo(
        codec=codec,
        width=width,
        height=height,
        time_base=time_base,
        frame_pts=pts_sorted,
        keyframes=tuple(i for i, (_, key) in enumerate(ordered) if key),
        end_pts=end_pts,
    )
    if info.duration_s > settings.max_duration_s:
        raise MediaTooLongError(f"{info.duration_s:.1f} s exceeds {settings.max_duration_s:.0f} s")
    return info
