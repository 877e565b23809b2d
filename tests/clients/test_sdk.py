"""The four clients against the real server over loopback: same methods, same typed results, same
vectors whichever transport, item errors kept apart from their neighbours, request errors typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.api.server_thread import ServerThread
from videoprism_client import (
    AsyncGrpcClient,
    AsyncHttpClient,
    GrpcClient,
    HttpClient,
    StreamItem,
    Video,
    VideoOptions,
    VideoPrismError,
    connect,
)
from videoprism_client.types import Vector


def _same(a: Vector | None, b: Vector | None) -> bool:
    assert a is not None and b is not None
    return bool(a.shape == b.shape and float(np.abs(a - b).max()) < 1e-6)


def _sync_clients(service: ServerThread) -> list[HttpClient | GrpcClient]:
    return [HttpClient(service.http_url), GrpcClient(service.grpc_target)]


def test_sync_clients_agree(service: ServerThread, video_file: Path) -> None:
    texts: list[Vector] = []
    videos: list[Vector | None] = []
    for client in _sync_clients(service):
        with client:
            info = client.model_info()
            t = client.embed_texts(["a dog runs", "a cat sleeps"])
            v = client.embed_videos([video_file, Video(data=b"junk")], VideoOptions(segment_seconds=1.5))
        assert info.dim == 16 and t.dim == 16 and t.model == info.name
        assert [r.ok for r in v.results] == [True, False]
        assert v.results[1].error is not None and v.results[1].error.code == "unsupported_media"
        assert len(v.results[0].segments) == 2 and v.results[0].segments[1].start == pytest.approx(1.5)
        texts.append(np.stack([r.embedding for r in t.results if r.embedding is not None]))
        videos.append(v.results[0].embedding)
    assert _same(texts[0], texts[1]) and _same(videos[0], videos[1])
    assert videos[0] is not None and float(np.linalg.norm(videos[0])) == pytest.approx(1.0, abs=1e-4)


async def test_async_clients_agree_and_stream(service: ServerThread, video_file: Path) -> None:
    data = video_file.read_bytes()
    items = [StreamItem(id=f"t{i}", text=f"text {i}") for i in range(6)]
    items += [StreamItem(id="v", video=Video(data=data)), StreamItem(id="bad", video=Video(data=b"nope"))]
    streamed: list[Vector | None] = []
    for client in (AsyncHttpClient(service.http_url), AsyncGrpcClient(service.grpc_target)):
        async with client:
            batch = await client.embed_texts(["text 3"])
            results = {r.id: r async for r in client.stream(items, concurrency=3)}
        assert set(results) == {i.id for i in items}
        assert results["bad"].error is not None and results["bad"].error.code == "unsupported_media"
        assert results["v"].ok and results["t3"].embedding is not None
        assert _same(results["t3"].embedding, batch.results[0].embedding)
        streamed.append(results["v"].embedding)
    assert _same(streamed[0], streamed[1])


def test_sync_stream_over_both_transports(service: ServerThread) -> None:
    items = [StreamItem(id=str(i), text=f"item {i}") for i in range(10)]
    for client in _sync_clients(service):
        with client:
            results = list(client.stream(items, concurrency=4))
        assert sorted(r.id for r in results) == sorted(i.id for i in items)
        assert all(r.ok and r.embedding is not None and r.embedding.shape == (16,) for r in results)


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_request_errors_are_typed(service: ServerThread, scheme: str) -> None:
    address = service.http_url if scheme == "http" else f"grpc://{service.grpc_target}"
    with connect(address) as client, pytest.raises(VideoPrismError) as raised:
        client.embed_videos([Video(data=b"x")] * 5)  # the fixture allows 4 per request
    assert raised.value.code == "invalid_request" and not raised.value.retryable
    assert raised.value.attempts == 1
