"""gRPC front door over a real grpc.aio channel: unary RPCs, streaming, upload, errors as ErrorInfo,
health checking and reflection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.grpc_api.errors import error_info
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


async def test_unary_rpcs_and_request_id(server: ServerThread, video_file: Path) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        info = await stub.GetModelInfo(pb.GetModelInfoRequest())
        text_call = stub.EmbedText(
            pb.EmbedTextRequest(texts=["a dog runs"]), metadata=(("x-request-id", "grpc-1"),)
        )
        texts = await text_call
        trailing = dict(await text_call.trailing_metadata())
        videos = await stub.EmbedVideo(
            pb.EmbedVideoRequest(
                videos=[pb.VideoSource(data=video_file.read_bytes()), pb.VideoSource(data=b"junk")]
            )
        )
    assert info.embedding_dim == 16 and info.video.runtime == "onnxruntime" and info.text_max_length == 16
    assert len(texts.data[0].embedding) == 16 and texts.dim == 16
    assert trailing["x-request-id"] == "grpc-1"
    assert len(videos.data[0].embedding) == 16 and not videos.data[0].HasField("error")
    assert videos.data[1].error.code == "unsupported_media"


async def test_request_errors_carry_error_info(server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.EmbedVideo(pb.EmbedVideoRequest())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(raised.value.trailing_metadata())
    assert info is not None and info.reason == "invalid_request" and info.domain == "videoprism.v1"


async def _stream_requests(video: bytes) -> AsyncIterator[pb.StreamEmbedRequest]:
    for i in range(100):
        if i % 10 == 9:  # ten bad items: garbage bytes or no input at all
            bad = pb.StreamEmbedRequest(id=f"bad-{i}")
            if i % 20 == 9:
                bad.video.data = b"garbage"
            yield bad
        elif i % 2 == 0:
            yield pb.StreamEmbedRequest(id=f"text-{i}", text=f"item number {i}")
        else:
            yield pb.StreamEmbedRequest(id=f"video-{i}", video=pb.VideoSource(data=video))


async def test_stream_of_100_with_10_bad_items(server: ServerThread, video_file: Path) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        responses = [r async for r in stub.StreamEmbed(_stream_requests(video_file.read_bytes()), timeout=60)]
    assert len(responses) == 100 and len({r.id for r in responses}) == 100
    vectors = [r for r in responses if not r.HasField("error")]
    errors = [r for r in responses if r.HasField("error")]
    assert len(vectors) == 90 and all(len(r.embedding) == 16 for r in vectors)
    assert len(errors) == 10 and all(r.id.startswith("bad-") for r in errors)
    assert {r.error.code for r in errors} == {"unsupported_media", "invalid_request"}


async def test_stream_cancellation_keeps_server_healthy(server: ServerThread, video_file: Path) -> None:
    async def endless() -> AsyncIterator[pb.StreamEmbedRequest]:
        i = 0
        while True:
            i += 1
            yield pb.StreamEmbedRequest(id=str(i), text=f"text {i}")

    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        call = stub.StreamEmbed(endless())
        received = 0
        async for _ in call:
            received += 1
            if received == 5:
                call.cancel()
                break
        assert received == 5
        after = await stub.EmbedText(pb.EmbedTextRequest(texts=["still serving"]), timeout=10)
    assert len(after.data[0].embedding) == 16
    assert server.process.context.in_flight == 0


async def test_upload_in_chunks_matches_unary(server: ServerThread, video_file: Path) -> None:
    data = video_file.read_bytes()

    async def chunks() -> AsyncIterator[pb.UploadVideoRequest]:
        yield pb.UploadVideoRequest(header=pb.UploadVideoHeader(filename="clip.mp4", total_bytes=len(data)))
        for start in range(0, len(data), 4096):
            yield pb.UploadVideoRequest(chunk=data[start : start + 4096])

    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        uploaded = await stub.UploadVideo(chunks())
        unary = await stub.EmbedVideo(pb.EmbedVideoRequest(videos=[pb.VideoSource(data=data)]))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.UploadVideo(_only_chunks())
    np.testing.assert_allclose(uploaded.result.embedding, unary.data[0].embedding, atol=1e-5)
    assert error_info(raised.value.trailing_metadata()).reason == "invalid_request"  # type: ignore[union-attr]


async def _only_chunks() -> AsyncIterator[pb.UploadVideoRequest]:
    yield pb.UploadVideoRequest(chunk=b"no header first")


async def test_health_and_reflection(server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
        service = await health.Check(health_pb2.HealthCheckRequest(service="videoprism.v1.EmbeddingService"))
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        answers = [a async for a in reflection.ServerReflectionInfo(ask())]
    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert service.status == health_pb2.HealthCheckResponse.SERVING
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"videoprism.v1.EmbeddingService", "grpc.health.v1.Health"} <= names
