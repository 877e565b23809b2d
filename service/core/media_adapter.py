"""Maps `service.media.MediaIngestor` onto the core's `MediaPort`.

Plain clips are planned as one window, so every result carries the window's real start/end seconds.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from pydantic import ValidationError

from service.core.media_port import ClipRequest, FetchedMediaLike, MediaPlanLike, SegmentLike
from service.errors import InternalError, InvalidRequestError, UnsupportedMediaError
from service.media import FetchedMedia, Frames, MediaInfo, MediaIngestor, SamplingSpec, Segment
from service.media.image_decode import sniff_file


@dataclass(frozen=True)
class IngestorPlan:
    info: MediaInfo
    spec: SamplingSpec
    spans: tuple[tuple[float, float], ...]
    available: int


class MediaIngestorAdapter:
    def __init__(self, ingestor: MediaIngestor) -> None:
        self.ingestor = ingestor

    @property
    def segment_cap(self) -> int:
        return self.ingestor.settings.max_segments

    async def fetch_url(self, url: str) -> FetchedMediaLike:
        return await self.ingestor.fetch_url(url)

    async def from_bytes(self, data: bytes) -> FetchedMediaLike:
        return await self.ingestor.from_bytes(data)

    async def plan(self, media: FetchedMediaLike, request: ClipRequest, *, capped: bool) -> MediaPlanLike:
        cap = self.ingestor.settings.max_segments if capped else None
        try:
            spec = SamplingSpec(
                num_frames=request.num_frames,
                image_size=request.image_size,
                resize_mode="squash" if request.resize_mode == "squash" else "crop",
                window_start_s=request.start_s,
                window_end_s=request.end_s,
                segment_s=request.segment_interval_s,
                max_segments=cap,
            )
        except ValidationError as exc:
            raise InvalidRequestError(
                f"invalid clip window or segment interval: {exc.errors()[0]['msg']}"
            ) from exc
        own = _own(media)
        try:
            info = await self.ingestor.open_media(own)
        except UnsupportedMediaError as exc:
            kind = sniff_file(own.path)
            if kind is None:
                raise
            raise UnsupportedMediaError(
                f"this is a {kind} image, not a video: send it as an `image` item"
            ) from exc
        spans = self.ingestor.plan_segment_spans(info, spec)
        return IngestorPlan(info, spec, spans.spans, spans.available)

    async def segments(
        self, media: FetchedMediaLike, plan: MediaPlanLike, *, deadline_s: float | None
    ) -> AsyncGenerator[SegmentLike, None]:
        if not isinstance(plan, IngestorPlan):
            raise InternalError("media plan did not come from this adapter")
        stream: AsyncGenerator[Segment, None] = self.ingestor.iter_segments(
            _own(media), plan.spec, plan.info, deadline=deadline_s
        )
        try:
            async for segment in stream:
                yield segment
        finally:
            await stream.aclose()

    @property
    def max_image_bytes(self) -> int:
        return self.ingestor.settings.max_image_bytes

    async def decode_image(self, media: FetchedMediaLike, image_size: int, resize_mode: str) -> Frames:
        mode = "squash" if resize_mode == "squash" else "crop"
        return await self.ingestor.decode_image(_own(media), image_size, mode)

    async def release(self, media: FetchedMediaLike) -> None:
        self.ingestor.release(_own(media))


def _own(media: FetchedMediaLike) -> FetchedMedia:
    if not isinstance(media, FetchedMedia):
        raise InternalError("media handle did not come from this ingestor")
    return media
