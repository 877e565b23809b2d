"""Inputs and typed results of the client, identical for the HTTP and gRPC transports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Video:
    """One video: exactly one of `url` (the server downloads it) and `data` (the file's bytes)."""

    url: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ValueError("give exactly one of url and data")

    @classmethod
    def from_path(cls, path: str | Path) -> Video:
        return cls(data=Path(path).read_bytes())

    @classmethod
    def from_url(cls, url: str) -> Video:
        return cls(url=url)


VideoLike = Video | str | Path | bytes
"""A `Video`, an http(s) URL string, a local path (read by the client) or raw file bytes."""


def as_video(value: VideoLike) -> Video:
    if isinstance(value, Video):
        return value
    if isinstance(value, bytes):
        return Video(data=value)
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return Video(url=value)
    return Video.from_path(value)


@dataclass(frozen=True)
class VideoOptions:
    """Clip window in seconds and, when set, the length of segments embedded separately."""

    clip_start: float | None = None
    clip_end: float | None = None
    segment_seconds: float | None = None


@dataclass(frozen=True)
class ItemError:
    """Why one item of a batch failed; its neighbours are unaffected."""

    code: str
    message: str


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    embedding: Vector


class _Outcome:
    """`ok` for the per-item results, each of which carries an `error` field."""

    error: ItemError | None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class VideoResult(_Outcome):
    """`embedding` is None exactly when `error` is set."""

    index: int
    embedding: Vector | None
    segments: list[Segment] = field(default_factory=list)
    cached: bool = False
    error: ItemError | None = None
    # With segments: how many the video holds, and whether the server's per-request cap cut the list
    # (then use `embed_video_segments` or a job for the rest).
    segments_total: int = 0
    truncated: bool = False


@dataclass(frozen=True)
class TextResult(_Outcome):
    index: int
    embedding: Vector | None
    cached: bool = False
    error: ItemError | None = None


@dataclass(frozen=True)
class VideoBatch:
    model: str
    dim: int
    results: list[VideoResult]


@dataclass(frozen=True)
class TextBatch:
    model: str
    dim: int
    results: list[TextResult]


@dataclass(frozen=True)
class StreamItem:
    """One input of `stream()`: a video or a text, tagged with a caller-chosen id echoed on its result."""

    id: str
    video: Video | None = None
    text: str | None = None
    options: VideoOptions | None = None

    def __post_init__(self) -> None:
        if (self.video is None) == (self.text is None):
            raise ValueError("a stream item needs exactly one of video and text")


@dataclass(frozen=True)
class StreamResult(_Outcome):
    """The answer to one `StreamItem`; results arrive as they finish, not in input order."""

    id: str
    embedding: Vector | None
    segments: list[Segment] = field(default_factory=list)
    cached: bool = False
    error: ItemError | None = None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    bundle_id: str
    dim: int
    num_frames: int
    image_size: int
    text_max_length: int | None
