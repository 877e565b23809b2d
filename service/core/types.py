"""Values crossing the core's public API: deadlines, video inputs and options, results, model info."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from service.errors import ServiceError

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Deadline:
    """An absolute point on the monotonic clock; build one per request with `Deadline.after(seconds)`."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


@dataclass(frozen=True)
class VideoUrl:
    url: str


@dataclass(frozen=True)
class VideoBytes:
    data: bytes


@dataclass(frozen=True, eq=False)
class DecodedFrames:
    """Frames already sampled to the bundle's spec: uint8 RGB [T, S, S, 3], or [N, T, S, S, 3] for N
    segments whose (start_s, end_s) are given in `spans` (defaults to 0..0 for each)."""

    frames: npt.NDArray[np.uint8]
    spans: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class ImageUrl:
    """A png, jpeg or webp image the server downloads; embedded as a static clip."""

    url: str


@dataclass(frozen=True)
class ImageBytes:
    """A png, jpeg or webp file; embedded as a static clip (the frame repeated to the bundle's frame count)."""

    data: bytes


ImageItem = ImageUrl | ImageBytes
VideoItem = VideoUrl | VideoBytes | DecodedFrames | ImageUrl | ImageBytes


@dataclass(frozen=True)
class VideoOptions:
    """Clip window (seconds into the video) and, if set, the length of segments embedded separately."""

    start_s: float | None = None
    end_s: float | None = None
    segment_interval_s: float | None = None


@dataclass(frozen=True)
class SegmentEmbedding:
    start_s: float
    end_s: float
    embedding: Vector


@dataclass(frozen=True)
class VideoEmbeddingResult:
    """`embedding` is the normalized mean of `segments` (one segment without segmentation); on failure
    `embedding` is None and `error` says why."""

    embedding: Vector | None
    segments: list[SegmentEmbedding] = field(default_factory=list)
    cached: bool = False
    content_sha256: str | None = None
    error: ServiceError | None = None
    # Segments the video holds at the requested interval; `truncated` when the per-request cap kept fewer.
    segments_total: int = 0
    truncated: bool = False


@dataclass(frozen=True)
class StreamedSegment:
    """One segment of `embed_video_segments`, sent in order; `segments_total` is known before decoding."""

    index: int
    start_s: float
    end_s: float
    embedding: Vector
    cached: bool
    segments_total: int


@dataclass(frozen=True)
class StreamedVideo:
    """The last item of `embed_video_segments`: the normalized mean of every segment embedding."""

    embedding: Vector
    segments_total: int
    cached: bool
    content_sha256: str


VideoStreamItem = StreamedSegment | StreamedVideo


@dataclass(frozen=True)
class TextEmbeddingResult:
    """One text of a batch request; `normalized` is the canonical string actually tokenized."""

    normalized: str
    embedding: Vector | None
    num_tokens: int = 0
    cached: bool = False
    error: ServiceError | None = None


@dataclass(frozen=True)
class EncoderInfo:
    runtime: str  # "tensorrt" | "onnxruntime" | "dummy"
    provider: str
    reason: str
    warmed_batch_sizes: tuple[int, ...]


@dataclass(frozen=True)
class ModelInfo:
    model_name: str
    model_version: str
    bundle_id: str
    embedding_dim: int
    num_frames: int
    image_size: int
    resize_mode: str
    text_max_length: int | None
    video: EncoderInfo
    text: EncoderInfo | None
