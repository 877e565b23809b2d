"""What the bulk job and the search page embed with: a running service (through the SDK's async client)
or the inference core in this process (no server needed). Both answer with the SDK's typed results."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any, Protocol, runtime_checkable

from videoprism_client import (
    ItemError,
    StreamedSegment,
    StreamedVideo,
    TextBatch,
    TextResult,
    Video,
    VideoBatch,
    VideoOptions,
    VideoResult,
)
from videoprism_client import Segment as ClientSegment


class AsyncEmbedder(Protocol):
    async def embed_videos(self, videos: list[Video], options: VideoOptions | None = None) -> VideoBatch: ...

    async def embed_texts(self, texts: list[str]) -> TextBatch: ...

    async def close(self) -> None: ...


@runtime_checkable
class SegmentStreamer(Protocol):
    """An embedder that can also stream one long video segment by segment (gRPC and in-process)."""

    def embed_video_segments(
        self, video: Video, options: VideoOptions | None = None
    ) -> AsyncGenerator[StreamedSegment | StreamedVideo, None]: ...


class LocalEmbedder:
    """The server's own `ServiceContext` (bundle → ONNX sessions → batchers → media) run in-process.
    Imported lazily: the `service` package and onnxruntime are only needed for this mode."""

    def __init__(self, bundle: str | None = None, **settings: Any) -> None:
        from service.settings import Settings

        values: dict[str, Any] = {"http_port": 0, "grpc_port": 0, **settings}
        if bundle is not None:
            values["bundle"] = bundle
        self.settings = Settings(**values)
        self._ctx: Any = None

    async def start(self) -> LocalEmbedder:
        from service.app import ServiceContext

        self._ctx = ServiceContext(self.settings)
        await self._ctx.load()
        return self

    @property
    def model(self) -> str:
        return str(self._ctx.core.model_info().model_name)

    async def embed_videos(self, videos: list[Video], options: VideoOptions | None = None) -> VideoBatch:
        from service.core.types import VideoBytes, VideoUrl
        from service.core.types import VideoOptions as CoreOptions

        opts = options or VideoOptions()
        core_options = CoreOptions(
            start_s=opts.clip_start, end_s=opts.clip_end, segment_interval_s=opts.segment_seconds
        )
        items = [VideoUrl(v.url) if v.url is not None else VideoBytes(v.data or b"") for v in videos]
        results = await self._ctx.embed_videos(items, core_options, api="local")
        converted = []
        for index, result in enumerate(results):
            error = result.error
            segments = [ClientSegment(s.start_s, s.end_s, s.embedding) for s in result.segments]
            converted.append(
                VideoResult(
                    index=index,
                    embedding=None if error is not None else result.embedding,
                    segments=segments if opts.segment_seconds is not None and error is None else [],
                    cached=result.cached,
                    error=None if error is None else ItemError(error.code, error.message),
                )
            )
        info = self._ctx.core.model_info()
        return VideoBatch(model=info.model_name, dim=info.embedding_dim, results=converted)

    async def embed_video_segments(
        self, video: Video, options: VideoOptions | None = None
    ) -> AsyncGenerator[StreamedSegment | StreamedVideo, None]:
        """Every segment of one video of any length, in order (the core's segment stream)."""
        from service.core.types import StreamedSegment as CoreSegment
        from service.core.types import VideoBytes, VideoUrl
        from service.core.types import VideoOptions as CoreOptions

        opts = options or VideoOptions()
        core_options = CoreOptions(
            start_s=opts.clip_start, end_s=opts.clip_end, segment_interval_s=opts.segment_seconds
        )
        item = VideoUrl(video.url) if video.url is not None else VideoBytes(video.data or b"")
        stream = self._ctx.core.embed_video_segments(item, core_options, api="local")
        async with contextlib.aclosing(stream):
            async for out in stream:
                if isinstance(out, CoreSegment):
                    yield StreamedSegment(
                        out.index, out.start_s, out.end_s, out.embedding, out.cached, out.segments_total
                    )
                else:
                    yield StreamedVideo(out.embedding, out.cached, out.segments_total)

    async def embed_texts(self, texts: list[str]) -> TextBatch:
        results = await self._ctx.embed_texts(texts, api="local")
        info = self._ctx.core.model_info()
        converted = [
            TextResult(
                index=i,
                embedding=r.embedding if r.error is None else None,
                cached=r.cached,
                error=None if r.error is None else ItemError(r.error.code, r.error.message),
            )
            for i, r in enumerate(results)
        ]
        return TextBatch(model=info.model_name, dim=info.embedding_dim, results=converted)

    async def close(self) -> None:
        if self._ctx is not None:
            await self._ctx.drain(5.0)
            self._ctx = None


async def open_embedder(
    server: str | None, *, bundle: str | None = None, api_key: str | None = None, timeout_s: float = 120.0
) -> AsyncEmbedder:
    """A client of `server` (http(s):// or grpc(s)://) when given, else the in-process engine."""
    if server:
        from videoprism_client import connect_async

        return connect_async(server, api_key=api_key, timeout_s=timeout_s)
    return await LocalEmbedder(bundle).start()
