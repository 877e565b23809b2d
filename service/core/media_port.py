"""What the core needs from media ingestion, as a Protocol: the core depends on this shape, and
`media_adapter.py` maps `service.media`'s ingestor onto it, so either side can change without the other."""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass(frozen=True)
class ClipRequest:
    """How to sample: the bundle's frame spec plus the caller's window and segmentation."""

    num_frames: int
    image_size: int
    resize_mode: str
    start_s: float | None
    end_s: float | None
    segment_interval_s: float | None


class MediaPort(Protocol):
    async def fetch_url(self, url: str) -> FetchedMediaLike: ...

    async def from_bytes(self, data: bytes) -> FetchedMediaLike: ...

    async def decode(self, media: FetchedMediaLike, request: ClipRequest) -> Sequence[SegmentLike]:
        """One segment for a plain clip; one per `segment_interval_s` window otherwise."""
        ...

    async def release(self, media: FetchedMediaLike) -> None:
        """Frees temporary files once decoding is done."""
        ...
