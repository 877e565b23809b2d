"""Maps `service.media.MediaIngestor` onto the core's `MediaPort`.

Plain clips go through `decode_segments` too (with no segment length it yields exactly one window), so
every result carries the window's real start/end seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from service.core.media_port import ClipRequest, FetchedMediaLike, SegmentLike
from service.errors import InternalError, InvalidRequestError
from service.media import FetchedMedia, MediaIngestor, SamplingSpec


class MediaIngestorAdapter:
    def __init__(self, ingestor: MediaIngestor) -> None:
        self.ingestor = ingestor

    async def fetch_url(self, url: str) -> FetchedMediaLike:
        return await self.ingestor.fetch_url(url)

    async def from_bytes(self, data: bytes) -> FetchedMediaLike:
        return await self.ingestor.from_bytes(data)

    async def decode(self, media: FetchedMediaLike, request: ClipRequest) -> Sequence[SegmentLike]:
        try:
            spec = SamplingSpec(
                num_frames=request.num_frames,
                image_size=request.image_size,
                resize_mode="squash" if request.resize_mode == "squash" else "crop",
                window_start_s=request.start_s,
                window_end_s=request.end_s,
                segment_s=request.segment_interval_s,
            )
        except ValidationError as exc:
            raise InvalidRequestError(
                f"invalid clip window or segment interval: {exc.errors()[0]['msg']}"
            ) from exc
        return await self.ingestor.decode_segments(_own(media), spec)

    async def release(self, media: FetchedMediaLike) -> None:
        self.ingestor.release(_own(media))


def _own(media: FetchedMediaLike) -> FetchedMedia:
    if not isinstance(media, FetchedMedia):
        raise InternalError("media handle did not come from this ingestor")
    return media
