"""API keys on both doors: checked before the body is parsed; health and readiness stay open, metrics and
the API description need a key once keys are set, and so does gRPC reflection."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.grpc_api.errors import error_info
from service.settings import Settings
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

KEY = "test-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}


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
        ok = client.post("/v1/embed/text", json={"texts": ["x"]}, headers=AUTH)
        health = [client.get(p).status_code for p in ("/healthz", "/readyz")]
    for response in (missing, wrong, models):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert KEY not in response.text
    assert ok.status_code == 200 and len(ok.json()["data"][0]["embedding"]) == 16
    assert health == [200, 200]


def test_ops_paths_need_a_key_when_keys_are_set(locked: ServerThread) -> None:
    paths = ("/metrics", "/openapi.json", "/docs")
    with locked.client() as client:
        anonymous = [client.get(p) for p in paths]
        keyed = [client.get(p, headers=AUTH) for p in paths]
    for response in anonymous:
        assert response.status_code == 401, response.url
        assert response.json()["error"]["code"] == "unauthenticated"
    assert [r.status_code for r in keyed] == [200, 200, 200]
    assert "videoprism_" in keyed[0].text and "/v1/embed/text" in keyed[1].json()["paths"]


async def test_grpc_needs_a_known_key_in_metadata(locked: ServerThread) -> None:
    async with grpc.aio.insecure_channel(locked.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]))
        with pytest.raises(grpc.aio.AioRpcError) as streaming:
            _ = [r async for r in stub.StreamEmbed(iter([pb.StreamEmbedRequest(id="1", text="x")]))]
        ok = await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]), metadata=tuple(AUTH.items()))
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    for raised in (missing, streaming):
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_info(raised.value.trailing_metadata()).reason == "unauthenticated"  # type: ignore[union-attr]
    assert len(ok.data[0].embedding) == 16
    assert health.status == health_pb2.HealthCheckResponse.SERVING


async def _list_services(target: str, metadata: tuple[tuple[str, str], ...] = ()) -> list[str]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names: list[str] = []
        async for response in stub.ServerReflectionInfo(iter([request]), metadata=metadata):
            names.extend(s.name for s in response.list_services_response.service)
        return names


async def test_grpc_reflection_needs_a_key_when_keys_are_set(locked: ServerThread) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await _list_services(locked.grpc_target)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "videoprism.v1.EmbeddingService" in await _list_services(locked.grpc_target, tuple(AUTH.items()))
