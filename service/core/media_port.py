"""What the core needs from media ingestion, as a Protocol: the core depends on this shape, and
`media_adapter.py` maps `service.media`'s ingestor onto it, so either side can change without the other."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


class FetchedMediaLike(Protocol):
    @property
    def sha256(self) -> str: ...

    @property
    def size_bytes(self) -> int: ...


class SegmentLike(Protocol):
    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...

    @property
    def frames(self) -> npt.NDArray[np.uint8]: ...


class MediaPlanLike(Protocol):
    """A probed video and the segment windows it will yield, known before any decoding."""

    @property
    def spans(self) -> tuple[tuple[float, float], ...]: ...

    @property
    def available(self) -> int:
        """Segments the video holds at this interval; more than `len(spans)` when a cap cut the list."""
        ...


@dataclass(frozen=True)
class ClipRequest:
    """How to sample: the bundle's frame spec plus the caller's window and segmentation."""

    num_frames: int
    image_size: int
    resize_mode: str
    start_s: float | None
    end_s: float | None
    segment_interval_s: float | None

    def canonical(self) -> str:
        """Every field in a fixed text form: what cache and single-flight keys are made from."""

        def num(value: float | None) -> str:
            return "-" if value is None else f"{value:.6f}"

        return (
            f"t={self.num_frames};s={self.image_size};r={self.resize_mode};"
            f"a={num(self.start_s)};b={num(self.end_s)};g={num(self.segment_interval_s)}"
        )


class MediaPort(Protocol):
    @property
    def segment_cap(self) -> int:
        """Most segments one synchronous answer holds (the stream has no cap)."""
        ...

    async def fetch_url(self, url: str) -> FetchedMediaLike: ...

    async def from_bytes(self, data: bytes) -> FetchedMediaLike: ...

    async def plan(self, media: FetchedMediaLike, request: ClipRequest, *, capped: bool) -> MediaPlanLike:
        """Probe `media` and list its windows: one for a plain clip, one per `segment_interval_s` otherwise
        (at most the server's per-request segment cap when `capped`)."""
        ...

    def segments(
        self, media: FetchedMediaLike, plan: MediaPlanLike, *, deadline_s: float | None
    ) -> AsyncGenerator[SegmentLike, None]:
        """The planned segments in order as they are decoded (bounded read-ahead). Closing the generator
        or cancelling its consumer kills the decoder at once. `deadline_s`: a `time.monotonic()` value."""
        ...

    async def decode_image(
        self, media: FetchedMediaLike, image_size: int, resize_mode: str
    ) -> npt.NDArray[np.uint8]:
        """A png, jpeg or webp image as one uint8 [S, S, 3] RGB frame, shaped like a video frame."""
        ...

    @property
    def max_image_bytes(self) -> int:
        """Largest image item accepted, uploaded or downloaded."""
        ...

    async def release(self, media: FetchedMediaLike) -> None:
        """Frees temporary files once decoding is done."""
        ...
