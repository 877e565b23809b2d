"""gRPC clients: `GrpcClient` (blocking) and `AsyncGrpcClient` (asyncio), with the same methods as the
HTTP clients. Unary calls retry `overloaded`/`draining` (from the status's ErrorInfo) and unreachable
servers with backoff, honouring the `retry-after` trailer, within one deadline; `stream()` is the native
bidirectional StreamEmbed and is not retried as a whole (its items fail individually instead)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from typing import Any, TypeVar

import grpc

from videoprism_client import _grpc_codec as codec
from videoprism_client._client_base import DEFAULT_TIMEOUT_S, AsyncClientBase, SyncClientBase
from videoprism_client.long_video import StreamedSegment, StreamedVideo, streamed
from videoprism_client.retry import RetryPolicy
from videoprism_client.types import (
    ModelInfo,
    StreamItem,
    StreamResult,
    TextBatch,
    VideoBatch,
    VideoLike,
    VideoOptions,
    as_video,
)
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

T = TypeVar("T")
# Inline videos can be large; the server enforces its own limit, so the client does not impose one.
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def _metadata(api_key: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {api_key}"),) if api_key else ()


def _video_request(videos: Iterable[VideoLike], options: VideoOptions | None) -> pb.EmbedVideoRequest:
    sources = [codec.source(as_video(v)) for v in videos]
    return pb.EmbedVideoRequest(videos=sources, options=codec.options(options))


class GrpcClient(SyncClientBase):
    """Blocking client for "host:port", "grpc://host:port" or "grpcs://host:port" (TLS)."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(timeout_s, retry)
        address, tls = codec.parse_target(target)
        self._metadata = _metadata(api_key)
        self._channel = (
            grpc.secure_channel(address, grpc.ssl_channel_credentials(), options=_CHANNEL_OPTIONS)
            if tls
            else grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
        )
        self._stub = pb_grpc.EmbeddingServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def _call(self, rpc: Callable[..., T], request: Any, timeout_s: float | None) -> T:
        attempts = self._attempts(timeout_s)
        while True:
            attempt = attempts.begin()
            try:
                return rpc(request, timeout=attempts.deadline.remaining(), metadata=self._metadata)
            except grpc.RpcError as exc:
                error = codec.rpc_error(exc, attempt)
            time.sleep(attempts.wait_after(error))

    def embed_videos(
        self,
        videos: Iterable[VideoLike],
        options: VideoOptions | None = None,
        *,
        timeout_s: float | None = None,
    ) -> VideoBatch:
        return codec.video_batch(
            self._call(self._stub.EmbedVideo, _video_request(videos, options), timeout_s)
        )

    def embed_texts(self, texts: Iterable[str], *, timeout_s: float | None = None) -> TextBatch:
        request = pb.EmbedTextRequest(texts=list(texts))
        return codec.text_batch(self._call(self._stub.EmbedText, request, timeout_s))

    def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return codec.model_info(self._call(self._stub.GetModelInfo, pb.GetModelInfoRequest(), timeout_s))

    def embed_video_segments(
        self, video: VideoLike, options: VideoOptions | None = None, *, timeout_s: float | None = None
    ) -> Generator[StreamedSegment | StreamedVideo, None, None]:
        """One video of any length, segment by segment in order as the server computes them, then the
        whole video. No default deadline (a long video takes its time); the server decodes only a few
        segments ahead of this iterator, and closing it early cancels the call and the server's decode."""
        call = self._stub.EmbedVideoSegments(
            _video_request([video], options), timeout=timeout_s, metadata=self._metadata
        )
        try:
            for message in call:
                yield streamed(message)
        except grpc.RpcError as exc:
            raise codec.rpc_error(exc, 1) from None
        finally:
            call.cancel()

    def stream(
        self, items: Iterable[StreamItem], *, concurrency: int = 8, timeout_s: float | None = None
    ) -> Iterator[StreamResult]:
        """Native StreamEmbed: results as they finish. `concurrency` is accepted for parity with HTTP; the
        server bounds in-flight items itself and slows the sender through flow control."""
        del concurrency
        requests = (codec.stream_request(item) for item in items)
        try:
            for response in self._stub.StreamEmbed(requests, timeout=timeout_s, metadata=self._metadata):
                yield codec.stream_result(response)
        except grpc.RpcError as exc:
            raise codec.rpc_error(exc, 1) from None


class AsyncGrpcClient(AsyncClientBase):
    """asyncio client with the same methods as `GrpcClient`, awaited. The channel is opened on first use,
    inside the caller's event loop."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(timeout_s, retry)
        self._address, self._tls = codec.parse_target(target)
        self._metadata = _metadata(api_key)
        self._channel: grpc.aio.Channel | None = None
        self._stub_: pb_grpc.EmbeddingServiceStub | None = None

    @property
    def _stub(self) -> pb_grpc.EmbeddingServiceStub:
        if self._stub_ is None:
            self._channel = (
                grpc.aio.secure_channel(
                    self._address, grpc.ssl_channel_credentials(), options=_CHANNEL_OPTIONS
                )
                if self._tls
                else grpc.aio.insecure_channel(self._address, options=_CHANNEL_OPTIONS)
            )
            self._stub_ = pb_grpc.EmbeddingServiceStub(self._channel)
        return self._stub_

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel, self._stub_ = None, None

    async def _call(self, rpc: Callable[..., Any], request: Any, timeout_s: float | None) -> Any:
        attempts = self._attempts(timeout_s)
        while True:
            attempt = attempts.begin()
            try:
                return await rpc(request, timeout=attempts.deadline.remaining(), metadata=self._metadata)
            except grpc.RpcError as exc:
                error = codec.rpc_error(exc, attempt)
            await asyncio.sleep(attempts.wait_after(error))

    async def embed_videos(
        self,
        videos: Iterable[VideoLike],
        options: VideoOptions | None = None,
        *,
        timeout_s: float | None = None,
    ) -> VideoBatch:
        response = await self._call(self._stub.EmbedVideo, _video_request(videos, options), timeout_s)
        return codec.video_batch(response)

    async def embed_texts(self, texts: Iterable[str], *, timeout_s: float | None = None) -> TextBatch:
        response = await self._call(self._stub.EmbedText, pb.EmbedTextRequest(texts=list(texts)), timeout_s)
        return codec.text_batch(response)

    async def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return codec.model_info(
            await self._call(self._stub.GetModelInfo, pb.GetModelInfoRequest(), timeout_s)
        )

    async def embed_video_segments(
        self, video: VideoLike, options: VideoOptions | None = None, *, timeout_s: float | None = None
    ) -> AsyncGenerator[StreamedSegment | StreamedVideo, None]:
        """The asyncio form of `GrpcClient.embed_video_segments`."""
        call = self._stub.EmbedVideoSegments(
            _video_request([video], options), timeout=timeout_s, metadata=self._metadata
        )
        try:
            async for message in call:
                yield streamed(message)
        except grpc.RpcError as exc:
            raise codec.rpc_error(exc, 1) from None
        finally:
            call.cancel()

    async def stream(
        self,
        items: AsyncIterable[StreamItem] | Iterable[StreamItem],
        *,
        concurrency: int = 8,
        timeout_s: float | None = None,
    ) -> AsyncIterator[StreamResult]:
        """Native StreamEmbed, as `GrpcClient.stream`."""
        del concurrency

        async def requests() -> AsyncIterator[pb.StreamEmbedRequest]:
            if isinstance(items, AsyncIterable):
                async for item in items:
                    yield codec.stream_request(item)
            else:
                for item in items:
                    yield codec.stream_request(item)

        call = self._stub.StreamEmbed(requests(), timeout=timeout_s, metadata=self._metadata)
        try:
            async for response in call:
                yield codec.stream_result(response)
        except grpc.RpcError as exc:
            raise codec.rpc_error(exc, 1) from None
        finally:
            call.cancel()
