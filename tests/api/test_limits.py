"""Request limits and back-pressure, identical on both doors: items per request, text length, and a full
queue answered with `overloaded` (HTTP 429 + Retry-After, gRPC RESOURCE_EXHAUSTED)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from service.grpc_api.errors import error_info
from service.settings import Settings
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def tight(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(
        make_settings(text_max_queue_size=2, max_text_chars=50, max_texts_per_request=8)
    ).start()
    yield running
    assert running.stop() == 0


def test_http_limits(tight: ServerThread) -> None:
    with tight.client() as client:
        overloaded = client.post("/v1/embed/text", json={"texts": ["a", "b", "c"]})
        too_long = client.post("/v1/embed/text", json={"texts": ["x" * 51]})
        too_many = client.post("/v1/embed/text", json={"texts": ["x"] * 9})
        fine = client.post("/v1/embed/text", json={"texts": ["a", "b"]})
    assert overloaded.status_code == 429 and overloaded.json()["error"]["code"] == "overloaded"
    assert int(overloaded.headers["retry-after"]) >= 1
    assert too_long.status_code == 400 and too_many.status_code == 400
    assert fine.status_code == 200


async def test_grpc_limits(tight: ServerThread) -> None:
    async with grpc.aio.insecure_channel(tight.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as overloaded:
            await stub.EmbedText(pb.EmbedTextRequest(texts=["a", "b", "c"]))
        with pytest.raises(grpc.aio.AioRpcError) as too_long:
            await stub.EmbedText(pb.EmbedTextRequest(texts=["x" * 51]))
    assert overloaded.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(overloaded.value.trailing_metadata())
    assert info is not None and info.reason == "overloaded" and int(info.metadata["retry_after_s"]) >= 1
    assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT
