"""Per-key rate limits on two real servers sharing one real Redis, on both doors: a key past its allowance
gets `rate_limited` + Retry-After / RESOURCE_EXHAUSTED on any replica, other keys are unaffected, and with
Redis gone each replica enforces the limit alone (fail open to per-replica buckets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest

from service.grpc_api.errors import error_info
from service.settings import Settings
from tests.api.server_thread import ServerThread
from tests.core.redis_server import RedisServer
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

KEYS = ("key-a-0001", "key-b-0002", "key-c-0003", "key-d-0004")


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def replicas(
    make_settings: Callable[..., Settings], redis_server: RedisServer
) -> Iterator[tuple[ServerThread, ServerThread]]:
    # One text request per second per key, a bucket of two: the third request within a second is refused.
    settings = make_settings(
        api_keys=",".join(KEYS),
        redis_url=redis_server.url,
        cache="none",
        rate_limits="text=1",
        rate_limit_burst_s=2,
        redis_timeout_s=0.5,
    )
    first, second = ServerThread(settings).start(), ServerThread(settings).start()
    yield first, second
    assert first.stop() == 0 and second.stop() == 0


def _text(server: ServerThread, key: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/v1/embed/text", json={"texts": ["a dog"]}, headers=_bearer(key))


def test_limit_is_shared_by_replicas_and_per_key(replicas: tuple[ServerThread, ServerThread]) -> None:
    first, second = replicas
    a, b = KEYS[0], KEYS[1]
    assert [_text(first, a).status_code, _text(first, a).status_code] == [200, 200]
    refused = _text(second, a)  # the other replica sees the same, empty bucket
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert _text(second, b).status_code == 200, "another key must be unaffected"


async def test_grpc_refuses_the_key_past_its_limit(replicas: tuple[ServerThread, ServerThread]) -> None:
    first, second = replicas
    key, other = KEYS[2], KEYS[3]
    assert _text(first, key).status_code == 200 and _text(second, key).status_code == 200
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]), metadata=tuple(_bearer(key).items()))
        ok = await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]), metadata=tuple(_bearer(other).items()))
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(raised.value.trailing_metadata())
    assert info is not None and info.reason == "rate_limited" and int(info.metadata["retry_after_s"]) >= 1
    assert len(ok.data[0].embedding) == 16


def test_redis_down_falls_back_to_per_replica_buckets(
    replicas: tuple[ServerThread, ServerThread], redis_server: RedisServer
) -> None:
    first, second = replicas
    redis_server.kill()
    key = KEYS[0]
    # Each replica now holds its own bucket of two: the limit still holds, per replica.
    assert [_text(first, key).status_code for _ in range(2)] == [200, 200]
    assert _text(first, key).status_code == 429
    assert _text(second, key).status_code == 200
