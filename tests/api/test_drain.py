"""SIGTERM on the real `videoprism-serve` process: readiness flips at once, new HTTP work gets `draining`,
the gRPC server refuses new calls at the transport (UNAVAILABLE, so clients retry elsewhere), in-flight
requests of both doors complete, temp files are removed, and the process exits 0."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.api.serve_process import SERVE, embed_in_background, kill_if_running, loopback_env, wait_ready
from tests.cluster.origin import LoopbackOrigin
from tests.core.redis_server import free_port
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

SLOW_S = 3.0


@pytest.fixture(scope="module")
def slow_origin(video_file: Path) -> Iterator[int]:
    """Serves the video only after SLOW_S seconds, so requests are still in flight when SIGTERM lands."""
    origin = LoopbackOrigin(video_file.read_bytes(), before_answer=lambda: time.sleep(SLOW_S))
    yield origin.port
    origin.close()


def test_sigterm_drains_and_exits_zero(api_bundle_dir: Path, slow_origin: int, tmp_path: Path) -> None:
    http_port, grpc_port = free_port(), free_port()
    spool = tmp_path / "spool"
    spool.mkdir()
    env = {
        **loopback_env(api_bundle_dir, http_port, grpc_port, slow_origin),
        "VIDEOPRISM_DRAIN_TIMEOUT_S": "20",
        "VIDEOPRISM_TEMP_DIR": str(spool),
    }
    proc = subprocess.Popen(
        [str(SERVE)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(base, proc)
        url = f"http://127.0.0.1:{slow_origin}/clip.mp4"
        with ThreadPoolExecutor(5) as pool, grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as early:
            in_flight, grpc_in_flight = embed_in_background(pool, base, early, url, 4)
            time.sleep(1.0)  # the five requests are now waiting on the slow origin
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            ready = httpx.get(f"{base}/readyz", timeout=5)
            refused = httpx.post(f"{base}/v1/embed/text", json={"texts": ["late"]}, timeout=5)
            # A new connection (what a client or nginx opens to a replica) finds no listener any more.
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                with pytest.raises(grpc.RpcError) as health_refused:
                    health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
                with pytest.raises(grpc.RpcError) as grpc_refused:
                    pb_grpc.EmbeddingServiceStub(channel).EmbedText(
                        pb.EmbedTextRequest(texts=["late"]), timeout=5
                    )
            finished = [f.result() for f in in_flight]
            grpc_finished = grpc_in_flight.result()
        code = proc.wait(timeout=30)
    finally:
        kill_if_running(proc)
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "draining"
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "draining"
    assert health_refused.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert grpc_refused.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert len(grpc_finished.data[0].embedding) == 16, grpc_finished
    for response in finished:
        assert response.status_code == 200, response.text
        item = response.json()["data"][0]
        assert "error" not in item and len(item["embedding"]) == 16
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert list(spool.iterdir()) == []
