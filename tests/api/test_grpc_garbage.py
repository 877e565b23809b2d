"""gRPC messages whose bytes do not parse: INVALID_ARGUMENT with the `invalid_request` reason (like every
other malformed request, not UNKNOWN), for unary and streaming RPCs, and the server keeps serving."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from service.grpc_api.errors import error_info
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

# A field tag of 0 is never valid protobuf.
GARBAGE = b"\x00\xff\xff\xff\xff"
SERVICE = "/videoprism.v1.EmbeddingService"


def _assert_invalid(error: grpc.aio.AioRpcError) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    info = error_info(error.trailing_metadata())
    assert info is not None and info.reason == "invalid_request"


async def test_unparsable_messages_are_invalid_argument(server: ServerThread) -> None:
    async def garbage_stream() -> AsyncIterator[bytes]:
        yield GARBAGE

    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        errors: list[grpc.aio.AioRpcError] = []
        for method in ("EmbedText", "EmbedVideo", "GetModelInfo"):
            try:
                await channel.unary_unary(f"{SERVICE}/{method}")(GARBAGE)
            except grpc.aio.AioRpcError as unary_error:
                errors.append(unary_error)
        try:
            async for _ in channel.stream_stream(f"{SERVICE}/StreamEmbed")(garbage_stream()):
                pass
        except grpc.aio.AioRpcError as stream_error:
            errors.append(stream_error)
        try:
            await channel.stream_unary(f"{SERVICE}/UploadVideo")(garbage_stream())
        except grpc.aio.AioRpcError as upload_error:
            errors.append(upload_error)
        ok = await pb_grpc.EmbeddingServiceStub(channel).EmbedText(pb.EmbedTextRequest(texts=["still up"]))
    assert len(errors) == 5
    for error in errors:
        _assert_invalid(error)
    assert len(ok.data[0].embedding) == 16
