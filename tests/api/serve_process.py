"""A real `videoprism-serve` child process: its executable, the environment the loopback tests give it, the
wait for `/readyz` and the requests left in flight before a signal, so every test that signals or kills a
real process starts and loads one the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx

from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

SERVE = Path(sys.executable).with_name("videoprism-serve")


def loopback_env(bundle: Path, http_port: int, grpc_port: int, origin_port: int) -> dict[str, str]:
    """This process's environment plus one bundle on CPU, both ports, and media allowed from the loopback
    origin on `origin_port` (the test-only exception to the SSRF policy)."""
    return {
        **os.environ,
        "VIDEOPRISM_BUNDLE": str(bundle),
        "VIDEOPRISM_HTTP_PORT": str(http_port),
        "VIDEOPRISM_GRPC_PORT": str(grpc_port),
        "VIDEOPRISM_DEVICE": "cpu",
        "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32",
        "VIDEOPRISM_ALLOWED_PORTS": f"80,443,{origin_port}",
    }


def wait_ready(
    base: str, proc: subprocess.Popen[Any], timeout_s: float = 60, why: Callable[[], str] = lambda: ""
) -> None:
    """Polls `base/readyz` until it answers 200; fails at once if the process exits, with `why()` (a log)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, f"server did not become ready {why()}"
        time.sleep(0.1)


def embed_in_background(
    pool: ThreadPoolExecutor, base: str, channel: grpc.Channel, url: str, count: int
) -> tuple[list[Future[httpx.Response]], Future[Any]]:
    """`count` HTTP requests and one gRPC call embedding `url`, each with its own query string (so no two
    share a fetch): the HTTP responses' futures and the gRPC answer's."""
    http = [
        pool.submit(
            httpx.post, f"{base}/v1/embed/video", json={"videos": [{"url": f"{url}?{i}"}]}, timeout=30
        )
        for i in range(count)
    ]
    call = pool.submit(
        pb_grpc.EmbeddingServiceStub(channel).EmbedVideo,
        pb.EmbedVideoRequest(videos=[pb.VideoSource(url=f"{url}?grpc")]),
        timeout=30,
    )
    return http, call


def kill_if_running(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
