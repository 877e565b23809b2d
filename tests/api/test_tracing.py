"""Tracing end to end: a real `videoprism-serve` child exports OTLP/HTTP to an in-process collector, and the
spans of a REST video request, a gRPC text request and a gRPC segment stream join the trace their caller's
`traceparent` named, each pipeline span descending from the door's server span."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from tests.api.serve_process import SERVE, loopback_env, wait_ready
from tests.api.test_tracing_collector import SERVER, Collector, ExportedSpan
from tests.core.redis_server import free_port
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

VIDEO_SPANS = {"fetch", "probe", "decode", "queue_wait", "inference", "cache.lookup", "cache.store"}
TEXT_SPANS = {"queue_wait", "inference", "cache.lookup", "cache.store"}


@dataclass(frozen=True)
class TracedServer:
    http_url: str
    grpc_target: str
    collector: Collector
    log_path: Path


@pytest.fixture(scope="module")
def traced_server(
    api_bundle_dir: Path, origin: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TracedServer]:
    collector = Collector()
    http_port, grpc_port = free_port(), free_port()
    log_path = tmp_path_factory.mktemp("traced") / "server.log"
    shared = loopback_env(api_bundle_dir, http_port, grpc_port, origin[1])
    env = {
        # A developer's own OTEL_* settings (a sampler, another endpoint) must not change what is tested.
        **{name: value for name, value in shared.items() if not name.startswith("OTEL_")},
        "VIDEOPRISM_INTRA_OP_THREADS": "1",
        "VIDEOPRISM_CACHE": "memory",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_SERVICE_NAME": "videoprism-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(SERVE)], env=env, stdout=log, stderr=log)
    try:
        wait_ready(f"http://127.0.0.1:{http_port}", process, why=log_path.read_text)
        yield TracedServer(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", collector, log_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(30) == 0  # a drain with tracing on still exits cleanly
        finally:
            if process.poll() is None:
                process.kill()
            collector.close()


def _traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def _assert_joined(spans: list[ExportedSpan], parent_id: str, names: set[str]) -> ExportedSpan:
    """Exactly one server span continues the caller's span, and each named span descends from it through
    spans of the same trace (no orphan, no second root). Returns the server span."""
    by_id = {span.span_id: span for span in spans}
    roots = [span for span in spans if span.parent_span_id == parent_id]
    assert len(roots) == 1, [(s.name, s.parent_span_id) for s in spans]
    root = roots[0]
    assert root.kind == SERVER
    assert root.service_name == "videoprism-under-test"
    found = {span.name for span in spans}
    assert names <= found, f"missing {names - found}"
    for span in spans:
        if span.name not in names:
            continue
        hops, current = 0, span
        while current.span_id != root.span_id:
            assert current.parent_span_id in by_id, (
                f"{span.name}: parent {current.parent_span_id} not exported"
            )
            current = by_id[current.parent_span_id]
            hops += 1
            assert hops < 10
        assert hops >= 1
    return root


def test_rest_video_request_continues_the_callers_trace(
    traced_server: TracedServer, origin: tuple[str, int]
) -> None:
    traceparent, trace_id, parent_id = _traceparent()
    response = httpx.post(
        f"{traced_server.http_url}/v1/embed/video",
        json={"videos": [{"url": f"{origin[0]}/clip.mp4"}]},
        headers={"traceparent": traceparent, "x-request-id": "traced-rest"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert "error" not in response.json()["data"][0]

    spans = traced_server.collector.wait_for(trace_id, VIDEO_SPANS)
    _assert_joined(spans, parent_id, VIDEO_SPANS)
    named = {span.name: span for span in spans}
    assert named["cache.lookup"].attributes["cache.hit"] is False
    assert named["cache.lookup"].attributes["cache.backend"] == "memory"
    assert int(named["fetch"].attributes["media.bytes"]) > 0  # type: ignore[call-overload]
    assert named["probe"].attributes["video.width"] == 64
    assert named["decode"].attributes["video.segments"] == 1
    assert int(named["cache.store"].attributes["cache.bytes"]) > 0  # type: ignore[call-overload]
    assert named["inference"].attributes["batch.size"] == 1
    assert named["inference"].attributes["batcher.kind"] == "video"
    # The pipeline's order shows in the parent links: queue wait and inference hang under the request,
    # never under the already finished decode.
    assert named["queue_wait"].parent_span_id != named["decode"].span_id

    # Every log line of the request names its trace.
    deadline = time.monotonic() + 5
    while True:
        lines = [
            json.loads(line)
            for line in traced_server.log_path.read_text().splitlines()
            if line.startswith("{")
        ]
        access = [line for line in lines if line.get("request_id") == "traced-rest"]
        if access or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert access and all(line.get("trace_id") == trace_id for line in access)


async def test_grpc_text_request_continues_the_callers_trace(traced_server: TracedServer) -> None:
    traceparent, trace_id, parent_id = _traceparent()
    async with grpc.aio.insecure_channel(traced_server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        answer = await stub.EmbedText(
            pb.EmbedTextRequest(texts=[f"a traced text {trace_id}"]),
            metadata=(("traceparent", traceparent),),
            timeout=30,
        )
    assert len(answer.data) == 1 and not answer.data[0].HasField("error")

    spans = traced_server.collector.wait_for(trace_id, TEXT_SPANS)
    root = _assert_joined(spans, parent_id, TEXT_SPANS)
    assert root.name == "/videoprism.v1.EmbeddingService/EmbedText"
    named = {span.name: span for span in spans}
    assert named["inference"].attributes["batcher.kind"] == "text"


async def test_grpc_segment_stream_continues_the_callers_trace(
    traced_server: TracedServer, origin: tuple[str, int]
) -> None:
    """A server-streaming RPC: its span stays current across the streamed answers."""
    traceparent, trace_id, parent_id = _traceparent()
    request = pb.EmbedVideoRequest(
        videos=[pb.VideoSource(url=f"{origin[0]}/clip.mp4?stream")],
        options=pb.VideoOptions(segment_interval_seconds=1.0),
    )
    async with grpc.aio.insecure_channel(traced_server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        call = stub.EmbedVideoSegments(request, metadata=(("traceparent", traceparent),), timeout=60)
        messages = [message async for message in call]
    assert len(messages) == 4  # three 1 s segments of the 3 s clip, then the whole video

    names = {"fetch", "probe", "queue_wait", "inference", "cache.lookup", "cache.store"}
    spans = traced_server.collector.wait_for(trace_id, names)
    root = _assert_joined(spans, parent_id, names)
    assert root.name == "/videoprism.v1.EmbeddingService/EmbedVideoSegments"
    assert sum(span.name == "inference" for span in spans) == 3


def test_a_request_without_traceparent_starts_its_own_trace(traced_server: TracedServer) -> None:
    started = len(traced_server.collector.spans)
    response = httpx.post(
        f"{traced_server.http_url}/v1/embed/text", json={"texts": ["untraced caller"]}, timeout=30
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 20
    while True:
        fresh = traced_server.collector.spans[started:]
        inference = [span for span in fresh if span.name == "inference"]
        if inference or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert inference, "no inference span exported"
    spans = traced_server.collector.wait_for(inference[0].trace_id, TEXT_SPANS)
    roots = [span for span in spans if not span.parent_span_id]
    assert len(roots) == 1 and roots[0].kind == SERVER
    assert roots[0].attributes["url.path"] == "/v1/embed/text"


def test_probes_are_not_traced(traced_server: TracedServer) -> None:
    started = len(traced_server.collector.spans)
    for _ in range(3):
        assert httpx.get(f"{traced_server.http_url}/readyz", timeout=5).status_code == 200
    marker = httpx.post(
        f"{traced_server.http_url}/v1/embed/text", json={"texts": ["after probes"]}, timeout=30
    )
    assert marker.status_code == 200
    # The marker request's server span, ended after the probes', shows their spans would have come by now.
    deadline = time.monotonic() + 20
    while True:
        paths = [span.attributes.get("url.path") for span in traced_server.collector.spans[started:]]
        if "/v1/embed/text" in paths:
            break
        assert time.monotonic() < deadline, "the marker request's server span was not exported"
        time.sleep(0.05)
    assert "/readyz" not in paths
