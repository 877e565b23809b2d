"""`videoprism.v1.EmbeddingService`: converts messages and calls the shared `ServiceContext`. Errors are
raised as `ServiceError`s and turned into statuses by the interceptor, so every RPC maps them identically."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import grpc

from service.app import ServiceContext
from service.core import InferenceCore
from service.core.types import Deadline, VideoBytes
from service.errors import DrainingError, InvalidRequestError, PayloadTooLargeError, ServiceError
from service.grpc_api import convert
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

_DONE = object()


def _client_timeout(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return remaining if remaining is not None and remaining < 1e9 else None


class EmbeddingServicer(pb_grpc.EmbeddingServiceServicer):
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def EmbedVideo(
        self, request: pb.EmbedVideoRequest, context: grpc.aio.ServicerContext
    ) -> pb.EmbedVideoResponse:
        with self._ctx.lease(request.model) as model:
            core = model.core
            items = [
                convert.video_item(v, core.model_info, where=f"videos[{i}]")
                for i, v in enumerate(request.videos)
            ]
            options = convert.video_options(request.options)
            results = await self._ctx.embed_videos(
                items, options, api="grpc", timeout_s=_client_timeout(context), core=core
            )
            info = core.model_info()
        segmented = options.segment_interval_s is not None
        data = [convert.video_embedding(i, r, with_segments=segmented) for i, r in enumerate(results)]
        return pb.EmbedVideoResponse(model=model.name, dim=info.embedding_dim, data=data)

    async def EmbedVideoSegments(
        self, request: pb.EmbedVideoRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.EmbedVideoSegmentsResponse]:
        # Each message is produced only when the previous one was taken by gRPC's write, so a client that
        # does not read stalls the decoder through HTTP/2 flow control. A cancel or deadline cancels this
        # generator, and closing the core's stream kills that call's ffmpeg and removes its files.
        if len(request.videos) != 1:
            raise InvalidRequestError("EmbedVideoSegments takes exactly one video")
        with self._ctx.lease(request.model) as model:
            core = model.core
            item = convert.video_item(request.videos[0], core.model_info, where="videos[0]")
            options = convert.video_options(request.options)
            info = dataclasses.replace(core.model_info(), model_name=model.name)
            timeout = _client_timeout(context)
            stream = core.embed_video_segments(
                item, options, deadline=Deadline.after(timeout) if timeout is not None else None, api="grpc"
            )
            async with contextlib.aclosing(stream):
                async for out in stream:
                    yield convert.streamed(out, info)

    async def EmbedText(
        self, request: pb.EmbedTextRequest, context: grpc.aio.ServicerContext
    ) -> pb.EmbedTextResponse:
        with self._ctx.lease(request.model) as model:
            results = await self._ctx.embed_texts(
                list(request.texts), api="grpc", timeout_s=_client_timeout(context), core=model.core
            )
            info = model.core.model_info()
        data = [convert.text_embedding(i, r) for i, r in enumerate(results)]
        return pb.EmbedTextResponse(model=model.name, dim=info.embedding_dim, data=data)

    async def GetModelInfo(
        self, request: pb.GetModelInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetModelInfoResponse:
        with self._ctx.lease(request.model) as model:
            out = convert.model_info(model.core.model_info())
        out.name = model.name
        out.is_default = model.name == self._ctx.models.default_name
        for served in self._ctx.models.served():
            info = served.core.model_info()
            out.models.append(
                pb.ServedModel(
                    name=served.name,
                    model_name=info.model_name,
                    bundle_id=info.bundle_id,
                    embedding_dim=info.embedding_dim,
                    num_frames=info.num_frames,
                    is_default=served.default,
                )
            )
        return out

    async def UploadVideo(
        self, request_iterator: AsyncIterator[pb.UploadVideoRequest], context: grpc.aio.ServicerContext
    ) -> pb.UploadVideoResponse:
        limit = self._ctx.settings.max_upload_bytes
        header: pb.UploadVideoHeader | None = None
        chunks: list[bytes] = []
        size = 0
        async for message in request_iterator:
            if header is None:
                if message.WhichOneof("payload") != "header":
                    raise InvalidRequestError("the first UploadVideo message must be the header")
                header = message.header
                if header.HasField("total_bytes") and header.total_bytes > limit:
                    raise PayloadTooLargeError(f"upload is larger than {limit} bytes")
                continue
            if message.WhichOneof("payload") != "chunk":
                raise InvalidRequestError("only chunks may follow the header")
            size += len(message.chunk)
            if size > limit:
                raise PayloadTooLargeError(f"upload is larger than {limit} bytes")
            chunks.append(message.chunk)
        if header is None or size == 0:
            raise InvalidRequestError("send a header and at least one chunk")
        options = convert.video_options(header.options)
        data = b"".join(chunks)
        chunks.clear()
        with self._ctx.lease(header.model) as model:
            (result,) = await self._ctx.embed_videos(
                [VideoBytes(data)], options, api="grpc", timeout_s=_client_timeout(context), core=model.core
            )
            info = model.core.model_info()
        embedding = convert.video_embedding(0, result, with_segments=options.segment_interval_s is not None)
        return pb.UploadVideoResponse(model=model.name, dim=info.embedding_dim, result=embedding)

    async def StreamEmbed(
        self, request_iterator: AsyncIterator[pb.StreamEmbedRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamEmbedResponse]:
        # Reading stops while `max_stream_in_flight` items are being embedded, so a fast client is slowed
        # by HTTP/2 flow control instead of queueing unbounded work; results are written as they finish.
        slots = asyncio.Semaphore(self._ctx.settings.max_stream_in_flight)
        results: asyncio.Queue[object] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()

        async def one(request: pb.StreamEmbedRequest) -> None:
            try:
                results.put_nowait(await self._stream_item(request, _client_timeout(context)))
            finally:
                slots.release()

        async def reader() -> None:
            try:
                async for request in request_iterator:
                    await slots.acquire()
                    task = asyncio.create_task(one(request))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if tasks:
                    await asyncio.gather(*list(tasks))
            finally:
                results.put_nowait(_DONE)

        reading = asyncio.create_task(reader())
        try:
            while (item := await results.get()) is not _DONE:
                assert isinstance(item, pb.StreamEmbedResponse)
                yield item
            await reading  # surfaces a broken request stream as the RPC's status
        finally:
            # Client cancellation or deadline: stop reading and abandon unfinished items.
            reading.cancel()
            for task in list(tasks):
                task.cancel()
            with contextlib.suppress(BaseException):
                await reading

    async def _stream_item(
        self, request: pb.StreamEmbedRequest, timeout: float | None
    ) -> pb.StreamEmbedResponse:
        out = pb.StreamEmbedResponse(id=request.id)
        try:
            if self._ctx.draining:
                raise DrainingError("server is shutting down")
            with self._ctx.lease(request.model) as model:
                return await self._stream_one(request, model.core, timeout, out)
        except ServiceError as error:
            # One bad item must not end the stream: its error travels in its own result.
            out.error.CopyFrom(pb.ItemError(code=error.code, message=error.message))
        return out

    async def _stream_one(
        self,
        request: pb.StreamEmbedRequest,
        core: InferenceCore,
        timeout: float | None,
        out: pb.StreamEmbedResponse,
    ) -> pb.StreamEmbedResponse:
        kind = request.WhichOneof("input")
        if kind == "video":
            options = convert.video_options(request.options)
            (video,) = await self._ctx.embed_videos(
                [convert.video_item(request.video, core.model_info)],
                options,
                api="grpc_stream",
                timeout_s=timeout,
                core=core,
            )
            item = convert.video_embedding(0, video, with_segments=options.segment_interval_s is not None)
            out.embedding.extend(item.embedding)
            out.segments.extend(item.segments)
            out.cached = item.cached
            if item.HasField("error"):
                out.error.CopyFrom(item.error)
        elif kind == "text":
            (text,) = await self._ctx.embed_texts(
                [request.text], api="grpc_stream", timeout_s=timeout, core=core
            )
            item_t = convert.text_embedding(0, text)
            out.embedding.extend(item_t.embedding)
            out.cached = item_t.cached
            if item_t.HasField("error"):
                out.error.CopyFrom(item_t.error)
        else:
            raise InvalidRequestError("each stream item needs a video or a text")
        return out
