"""Value types handed between fetching, probing and decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Frames = npt.NDArray[np.uint8]  # [T, S, S, 3] RGB


@dataclass(frozen=True)
class FetchedMedia:
    """Media bytes on local disk, ready for ffmpeg.

    `sha256` is the hex digest of exactly the bytes in `path` (the cache key of the embedding cache).
    `owned` files live in the ingestor's temp directory and are deleted by `release` / `close`.
    """

    path: Path
    sha256: str
    size_bytes: int
    source: str  # the URL, "bytes" or the local path; for logs only
    owned: bool


@dataclass(frozen=True)
class MediaInfo:
    """What the probe learned from the video stream's packets (demuxed, not decoded).

    `frame_pts` are presentation timestamps in `time_base` units, sorted, one per displayable frame;
    `keyframes` holds the positions (indices into `frame_pts`) of keyframes.
    """

    codec: str
    width: int
    height: int
    time_base: tuple[int, int]
    frame_pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    end_pts: int  # presentation end of the last frame (its pts + duration)

    @property
    def num_frames(self) -> int:
        return len(self.frame_pts)

    @property
    def start_s(self) -> float:
        return self.seconds(self.frame_pts[0])

    @property
    def duration_s(self) -> float:
        return self.seconds(self.end_pts - self.frame_pts[0])

    def seconds(self, pts: int) -> float:
        num, den = self.time_base
        return pts * num / den


@dataclass(frozen=True)
class Segment:
    """One fixed-length window of a long video and its sampled frames.

    `start_s`/`end_s` are seconds from the first frame; `frames` is uint8 [T, S, S, 3].
    """

    start_s: float
    end_s: float
    frames: Frames
