"""`VIDEOPRISM_MAX_IN_FLIGHT`: with the limit reached (requests held in flight by a gated origin), both doors
answer `overloaded` at once, before reading the body; once the held requests finish, requests work again."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from service.grpc_api.errors import error_info
from service.settings import Settings
from tests.api.server_thread import ServerThread
from tests.cluster.origin import LoopbackOrigin
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

LIMIT = 2


@pytest.fixture
def gated_origin(video_file: Path) -> Iterator[tuple[int, threading.Event]]:
    """Serves the video only once the gate opens: requests fetching from it stay in flight until then."""
    gate = threading.Event()
    origin = LoopbackOrigin(video_file.read_bytes(), before_answer=lambda: gate.wait(30))
    yield origin.port, gate
    gate.set()
    origin.close()


def _wait_in_flight(running: ServerThread, count: int) -> None:
    deadline = time.monotonic() + 10
    while running.process.context.in_flight < count:
        assert time.monotonic() < deadline, "held requests never reached the server"
        time.sleep(0.02)


def _headers_only(running: ServerThread) -> bytes:
    """Sends a request that announces a body and never sends it; returns whatever the server answers."""
    with socket.create_connection(("127.0.0.1", running.process.http_port or 0), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/embed/text HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 1000\r\n\r\n"
        )
        return sock.recv(65536)


def test_limit_answers_overloaded_before_the_body_and_recovers(
    make_settings: Callable[..., Settings], gated_origin: tuple[int, threading.Event]
) -> None:
    port, gate = gated_origin
    running = ServerThread(make_settings(max_in_flight=LIMIT, allowed_ports=(80, 443, port))).start()
    url = f"http://127.0.0.1:{port}/clip.mp4"
    try:
        with ThreadPoolExecutor(LIMIT) as pool, running.client() as client:
            held = [
                pool.submit(client.post, "/v1/embed/video", json={"videos": [{"url": f"{url}?{i}"}]})
                for i in range(LIMIT)
            ]
            _wait_in_flight(running, LIMIT)
            refused = client.post("/v1/embed/text", json={"texts": ["one too many"]})
            raw = _headers_only(running)
            models = client.get("/v1/models")
            with grpc.insecure_channel(running.grpc_target) as channel:
                stub = pb_grpc.EmbeddingServiceStub(channel)
                with pytest.raises(grpc.RpcError) as grpc_refused:
                    stub.EmbedText(pb.EmbedTextRequest(texts=["one too many"]), timeout=5)
                info_ok = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
            gate.set()
            finished = [f.result(timeout=30) for f in held]
            after = client.post("/v1/embed/text", json={"texts": ["room again"]})
            with grpc.insecure_channel(running.grpc_target) as channel:
                grpc_after = pb_grpc.EmbeddingServiceStub(channel).EmbedText(
                    pb.EmbedTextRequest(texts=["room again"]), timeout=10
                )
    finally:
        gate.set()
        assert running.stop() == 0
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "overloaded"
    assert int(refused.headers["retry-after"]) >= 1
    # Answered although the announced body was never sent: the limit is checked before reading it.
    assert raw.startswith(b"HTTP/1.1 429") and b"retry-after" in raw.lower()
    assert models.status_code == 200 and info_ok.embedding_dim == 16
    error = grpc_refused.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    info = error_info(error.trailing_metadata())  # type: ignore[attr-defined]
    assert info is not None and info.reason == "overloaded" and int(info.metadata["retry_after_s"]) >= 1
    for response in finished:
        assert response.status_code == 200, response.text
        assert len(response.json()["data"][0]["embedding"]) == 16
    assert after.status_code == 200 and len(grpc_after.data[0].embedding) == 16
