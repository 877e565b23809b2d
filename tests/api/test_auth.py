"""API keys on both doors: checked before the body is parsed; health, readiness and metrics stay open."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.grpc_api.errors import error_info
from service.grpc_api.gen import embedding_pb2 as pb
from service.grpc_api.gen import embedding_pb2_grpc as pb_grpc
from service.settings import Settings
from tests.api.server_thread import ServerThread

KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def locked(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(api_keys=f"other-key,{KEY}")).start()
    yield running
    assert running.stop() == 0


def test_http_needs_a_known_bearer_key(locked: ServerThread) -> None:
    with locked.client() as client:
        # Malformed JSON: a 401 (not 400) proves the key is checked before the body is parsed.
        missing = client.post(
            "/v1/embed/text", content=b"{not json", headers={"content-type": "application/json"}
        )
        wrong = client.post("/v1/embed/text", json={"texts": ["x"]}, headers={"authorization": "Bearer nope"})
        models = client.get("/v1/models")
        ok = client.post("/v1/embed/text", json={"texts": ["x"]}, headers={"authorization": f"Bearer {KEY}"})
        open_paths = [client.get(p).status_code for p in ("/healthz", "/readyz", "/metrics", "/openapi.json")]
    for response in (missing, wrong, models):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert KEY not in response.text
    assert ok.status_code == 200 and len(ok.json()["data"][0]["embedding"]) == 16
    assert open_paths == [200, 200, 200, 200]


async def test_grpc_needs_a_known_key_in_metadata(locked: ServerThread) -> None:
    async with grpc.aio.insecure_channel(locked.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]))
        with pytest.raises(grpc.aio.AioRpcError) as streaming:
            _ = [r async for r in stub.StreamEmbed(iter([pb.StreamEmbedRequest(id="1", text="x")]))]
        ok = await stub.EmbedText(
            pb.EmbedTextRequest(texts=["x"]), metadata=(("authorization", f"Bearer {KEY}"),)
        )
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    for raised in (missing, streaming):
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_info(raised.value.trailing_metadata()).reason == "unauthenticated"  # type: ignore[union-attr]
    assert len(ok.data[0].embedding) == 16
    assert health.status == health_pb2.HealthCheckResponse.SERVING
