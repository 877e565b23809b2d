"""Before the model is ready: liveness answers, readiness and gRPC health say no, work gets `not_ready`.
The bundle load is held back with an injected fault (a gate in front of the real loader)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import service.app
from service.grpc_api.errors import error_info
from service.settings import Settings
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


async def test_not_ready_until_loaded(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real_load = service.app.load_bundle

    def gated_load(path: Path) -> Any:
        gate.wait(30)
        return real_load(path)

    monkeypatch.setattr(service.app, "load_bundle", gated_load)
    running = ServerThread(make_settings()).start(wait_ready=False)
    try:
        with running.client() as client:
            live = client.get("/healthz")
            ready = client.get("/readyz")
            work = client.post("/v1/embed/text", json={"texts": ["x"]})
        async with grpc.aio.insecure_channel(running.grpc_target) as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await pb_grpc.EmbeddingServiceStub(channel).EmbedText(pb.EmbedTextRequest(texts=["x"]))
        gate.set()
        running.start_wait_ready()
        with running.client() as client:
            after = client.get("/readyz")
    finally:
        gate.set()
        assert running.stop() == 0
    assert live.status_code == 200
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "not_ready"
    assert work.status_code == 503 and work.json()["error"]["code"] == "not_ready"
    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(refused.value.trailing_metadata()).reason == "not_ready"  # type: ignore[union-attr]
    assert after.status_code == 200


def test_no_input_produces_internal(server: ServerThread) -> None:
    bodies: list[tuple[str, bytes, str]] = [
        ("/v1/embed/video", b"null", "application/json"),
        ("/v1/embed/video", b"[]", "application/json"),
        ("/v1/embed/video", b'{"videos": [{"url": 5}]}', "application/json"),
        ("/v1/embed/video", b'{"videos": [{"url": "::::"}]}', "application/json"),
        ("/v1/embed/video", b'{"videos": [{"url": "file:///etc/passwd"}]}', "application/json"),
        ("/v1/embed/video", b'{"videos": [{"data": ""}]}', "application/json"),
        (
            "/v1/embed/video",
            b'{"videos": [{"data": "AAAA"}], "clip": {"start": 5, "end": 1}}',
            "application/json",
        ),
        (
            "/v1/embed/video",
            b'{"videos": [{"data": "AAAA"}], "segments": {"interval_seconds": 0}}',
            "application/json",
        ),
        ("/v1/embed/text", b'{"texts": [""]}', "application/json"),
        ("/v1/embed/text", b'{"texts": ["\\u0000\\ud800"]}', "application/json"),
        ("/v1/embed/text", "\u00e9".encode("latin-1"), "application/json"),
        ("/v1/embeddings", b'{"input": [1, 2, 3]}', "application/json"),
        ("/v1/embeddings", b'{"input": []}', "application/json"),
        ("/v1/embed/video/upload", b"--x\r\n", "multipart/form-data; boundary=x"),
        ("/v1/embed/text", b"texts=a", "application/x-www-form-urlencoded"),
    ]
    with server.client() as client:
        statuses = [
            (path, body, client.post(path, content=body, headers={"content-type": ctype}))
            for path, body, ctype in bodies
        ]
    for path, body, response in statuses:
        assert response.status_code < 500, (path, body, response.text)
        assert "error" in response.json() or response.status_code == 200, (path, body, response.text)
